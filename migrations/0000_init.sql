CREATE TABLE `invocations` (
	`id` text PRIMARY KEY NOT NULL,
	`server_name` text NOT NULL,
	`tool_name` text NOT NULL,
	`session_id` text NOT NULL,
	`caller_kind` text NOT NULL,
	`caller_id` text NOT NULL,
	`started_at` integer NOT NULL,
	`duration_ms` integer NOT NULL,
	`outcome` text NOT NULL,
	`error_class` text,
	`minutes_saved` real NOT NULL,
	`args_digest` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `invocations_server_started` ON `invocations` (`server_name`,`started_at`);--> statement-breakpoint
CREATE INDEX `invocations_caller` ON `invocations` (`caller_id`);--> statement-breakpoint
CREATE TABLE `servers` (
	`name` text PRIMARY KEY NOT NULL,
	`title` text NOT NULL,
	`description` text NOT NULL,
	`version` text NOT NULL,
	`remote_url` text NOT NULL,
	`allowed_groups` text DEFAULT '[]' NOT NULL,
	`registered_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `tools` (
	`server_name` text NOT NULL,
	`name` text NOT NULL,
	`description` text NOT NULL,
	`annotations` text NOT NULL,
	`access` text NOT NULL,
	`needs_approval` integer NOT NULL,
	`minutes_saved` real NOT NULL,
	PRIMARY KEY(`server_name`, `name`),
	FOREIGN KEY (`server_name`) REFERENCES `servers`(`name`) ON UPDATE no action ON DELETE cascade
);
