ALTER TABLE `reviews` ADD `reviewer_groups` text DEFAULT '[]' NOT NULL;--> statement-breakpoint
ALTER TABLE `server_versions` ADD `tools_digest` text;--> statement-breakpoint
ALTER TABLE `servers` ADD `approved_version` text;--> statement-breakpoint
ALTER TABLE `servers` ADD `approved_tools_digest` text;