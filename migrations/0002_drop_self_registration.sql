DROP TABLE `servers`;--> statement-breakpoint
DROP TABLE `tools`;