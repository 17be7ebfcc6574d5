CREATE TABLE `active_users` (
	`period` text NOT NULL,
	`start` text NOT NULL,
	`server_name` text NOT NULL,
	`tool_name` text NOT NULL,
	`caller_id` text NOT NULL,
	`caller_group` text NOT NULL,
	PRIMARY KEY(`period`, `start`, `server_name`, `tool_name`, `caller_id`)
);
--> statement-breakpoint
CREATE INDEX `active_users_period_user` ON `active_users` (`period`,`start`,`caller_id`);--> statement-breakpoint
CREATE TABLE `analytics_exports` (
	`day` text PRIMARY KEY NOT NULL,
	`object_key` text NOT NULL,
	`rows` integer NOT NULL,
	`bytes` integer NOT NULL,
	`exported_at` integer NOT NULL,
	`deleted_at` integer
);
--> statement-breakpoint
CREATE TABLE `estimate_overrides` (
	`id` text PRIMARY KEY NOT NULL,
	`server_name` text NOT NULL,
	`tool_name` text NOT NULL,
	`minutes` real,
	`effective_from` text NOT NULL,
	`reason` text NOT NULL,
	`set_by` text NOT NULL,
	`set_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `estimate_overrides_tool` ON `estimate_overrides` (`server_name`,`tool_name`,`effective_from`,`set_at`);--> statement-breakpoint
CREATE TABLE `feedback` (
	`invocation_id` text PRIMARY KEY NOT NULL,
	`server_name` text NOT NULL,
	`tool_name` text NOT NULL,
	`caller_id` text NOT NULL,
	`day` text NOT NULL,
	`helped` integer NOT NULL,
	`minutes` real,
	`at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `feedback_tool` ON `feedback` (`server_name`,`tool_name`,`day`);--> statement-breakpoint
CREATE TABLE `feedback_daily` (
	`day` text NOT NULL,
	`server_name` text NOT NULL,
	`tool_name` text NOT NULL,
	`ratings` integer DEFAULT 0 NOT NULL,
	`helped` integer DEFAULT 0 NOT NULL,
	`helped_with_minutes` integer DEFAULT 0 NOT NULL,
	`minutes_given` real DEFAULT 0 NOT NULL,
	PRIMARY KEY(`server_name`, `tool_name`, `day`)
);
--> statement-breakpoint
CREATE TABLE `usage_daily` (
	`day` text NOT NULL,
	`server_name` text NOT NULL,
	`tool_name` text NOT NULL,
	`caller_group` text NOT NULL,
	`invocations` integer DEFAULT 0 NOT NULL,
	`successes` integer DEFAULT 0 NOT NULL,
	`errors` integer DEFAULT 0 NOT NULL,
	`denials` integer DEFAULT 0 NOT NULL,
	`approvals_requested` integer DEFAULT 0 NOT NULL,
	`approvals_granted` integer DEFAULT 0 NOT NULL,
	`approvals_declined` integer DEFAULT 0 NOT NULL,
	`minutes_code` real DEFAULT 0 NOT NULL,
	`duration_ms_total` integer DEFAULT 0 NOT NULL,
	`lat_0` integer DEFAULT 0 NOT NULL,
	`lat_1` integer DEFAULT 0 NOT NULL,
	`lat_2` integer DEFAULT 0 NOT NULL,
	`lat_3` integer DEFAULT 0 NOT NULL,
	`lat_4` integer DEFAULT 0 NOT NULL,
	`lat_5` integer DEFAULT 0 NOT NULL,
	`lat_6` integer DEFAULT 0 NOT NULL,
	`lat_7` integer DEFAULT 0 NOT NULL,
	`lat_8` integer DEFAULT 0 NOT NULL,
	`lat_9` integer DEFAULT 0 NOT NULL,
	PRIMARY KEY(`day`, `server_name`, `tool_name`, `caller_group`)
);
--> statement-breakpoint
CREATE INDEX `usage_daily_server_day` ON `usage_daily` (`server_name`,`day`);--> statement-breakpoint
CREATE TABLE `usage_monthly` (
	`day` text NOT NULL,
	`server_name` text NOT NULL,
	`tool_name` text NOT NULL,
	`caller_group` text NOT NULL,
	`invocations` integer DEFAULT 0 NOT NULL,
	`successes` integer DEFAULT 0 NOT NULL,
	`errors` integer DEFAULT 0 NOT NULL,
	`denials` integer DEFAULT 0 NOT NULL,
	`approvals_requested` integer DEFAULT 0 NOT NULL,
	`approvals_granted` integer DEFAULT 0 NOT NULL,
	`approvals_declined` integer DEFAULT 0 NOT NULL,
	`minutes_code` real DEFAULT 0 NOT NULL,
	`duration_ms_total` integer DEFAULT 0 NOT NULL,
	`lat_0` integer DEFAULT 0 NOT NULL,
	`lat_1` integer DEFAULT 0 NOT NULL,
	`lat_2` integer DEFAULT 0 NOT NULL,
	`lat_3` integer DEFAULT 0 NOT NULL,
	`lat_4` integer DEFAULT 0 NOT NULL,
	`lat_5` integer DEFAULT 0 NOT NULL,
	`lat_6` integer DEFAULT 0 NOT NULL,
	`lat_7` integer DEFAULT 0 NOT NULL,
	`lat_8` integer DEFAULT 0 NOT NULL,
	`lat_9` integer DEFAULT 0 NOT NULL,
	PRIMARY KEY(`day`, `server_name`, `tool_name`, `caller_group`)
);
--> statement-breakpoint
DROP INDEX `invocations_caller`;--> statement-breakpoint
ALTER TABLE `invocations` ADD `caller_group` text DEFAULT '' NOT NULL;--> statement-breakpoint
ALTER TABLE `invocations` ADD `approval` text;--> statement-breakpoint
CREATE INDEX `invocations_started` ON `invocations` (`started_at`);--> statement-breakpoint
CREATE INDEX `invocations_caller` ON `invocations` (`caller_id`,`started_at`);