CREATE TABLE `dead_letters` (
	`id` text PRIMARY KEY NOT NULL,
	`server_name` text NOT NULL,
	`target` text NOT NULL,
	`record` text NOT NULL,
	`error` text NOT NULL,
	`attempts` integer NOT NULL,
	`at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `dead_letters_server` ON `dead_letters` (`server_name`,`at`);