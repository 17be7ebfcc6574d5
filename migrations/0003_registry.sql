CREATE TABLE `health_checks` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`server_name` text NOT NULL,
	`at` integer NOT NULL,
	`up` integer NOT NULL,
	`latency_ms` integer NOT NULL,
	`http_status` integer,
	`error` text,
	FOREIGN KEY (`server_name`) REFERENCES `servers`(`name`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `health_checks_server_at` ON `health_checks` (`server_name`,`at`);--> statement-breakpoint
CREATE TABLE `reviews` (
	`id` text PRIMARY KEY NOT NULL,
	`server_name` text NOT NULL,
	`version` text NOT NULL,
	`kind` text NOT NULL,
	`state` text NOT NULL,
	`reviewer` text NOT NULL,
	`at` integer NOT NULL,
	`notes` text DEFAULT '' NOT NULL,
	FOREIGN KEY (`server_name`) REFERENCES `servers`(`name`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `reviews_server_kind` ON `reviews` (`server_name`,`kind`,`at`);--> statement-breakpoint
CREATE TABLE `server_events` (
	`id` text PRIMARY KEY NOT NULL,
	`server_name` text NOT NULL,
	`at` integer NOT NULL,
	`actor` text NOT NULL,
	`action` text NOT NULL,
	`detail` text NOT NULL,
	FOREIGN KEY (`server_name`) REFERENCES `servers`(`name`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `server_events_server_at` ON `server_events` (`server_name`,`at`);--> statement-breakpoint
CREATE TABLE `server_versions` (
	`server_name` text NOT NULL,
	`version` text NOT NULL,
	`title` text NOT NULL,
	`description` text NOT NULL,
	`document` text NOT NULL,
	`status` text DEFAULT 'active' NOT NULL,
	`is_latest` integer NOT NULL,
	`published_by` text NOT NULL,
	`published_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	PRIMARY KEY(`server_name`, `version`),
	FOREIGN KEY (`server_name`) REFERENCES `servers`(`name`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `server_versions_updated` ON `server_versions` (`updated_at`);--> statement-breakpoint
CREATE TABLE `servers` (
	`name` text PRIMARY KEY NOT NULL,
	`team` text NOT NULL,
	`support_channel` text NOT NULL,
	`on_call` text NOT NULL,
	`lifecycle` text DEFAULT 'draft' NOT NULL,
	`lifecycle_changed_at` integer NOT NULL,
	`environments` text NOT NULL,
	`allowed_groups` text NOT NULL,
	`allowed_services` text NOT NULL,
	`latest_version` text NOT NULL,
	`health_up` integer,
	`health_checked_at` integer,
	`health_latency_ms` integer,
	`health_error` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `servers_team` ON `servers` (`team`);--> statement-breakpoint
CREATE INDEX `servers_updated` ON `servers` (`updated_at`);--> statement-breakpoint
CREATE TABLE `tools` (
	`server_name` text NOT NULL,
	`version` text NOT NULL,
	`name` text NOT NULL,
	`description` text NOT NULL,
	`annotations` text NOT NULL,
	`access` text NOT NULL,
	`needs_approval` integer NOT NULL,
	`minutes_saved` real NOT NULL,
	PRIMARY KEY(`server_name`, `version`, `name`),
	FOREIGN KEY (`server_name`) REFERENCES `servers`(`name`) ON UPDATE no action ON DELETE cascade
);
