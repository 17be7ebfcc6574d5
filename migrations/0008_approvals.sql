CREATE TABLE `approvals` (
	`id` text PRIMARY KEY NOT NULL,
	`server_name` text NOT NULL,
	`tool_name` text NOT NULL,
	`subject` text NOT NULL,
	`caller_id` text NOT NULL,
	`session_id` text NOT NULL,
	`args_digest` text NOT NULL,
	`arguments` text NOT NULL,
	`action` text NOT NULL,
	`status` text DEFAULT 'pending' NOT NULL,
	`form_token` text NOT NULL,
	`created_at` integer NOT NULL,
	`expires_at` integer NOT NULL,
	`decided_at` integer,
	`decided_by` text,
	`consumed_at` integer
);
--> statement-breakpoint
CREATE INDEX `approvals_subject_created` ON `approvals` (`subject`,`created_at`);