CREATE TABLE `audit_events` (
	`id` text PRIMARY KEY NOT NULL,
	`at` integer NOT NULL,
	`server_name` text NOT NULL,
	`caller_kind` text NOT NULL,
	`caller_id` text NOT NULL,
	`action` text NOT NULL,
	`decision` text NOT NULL,
	`reason` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `audit_events_at` ON `audit_events` (`at`);--> statement-breakpoint
CREATE INDEX `audit_events_caller` ON `audit_events` (`caller_id`);