DROP INDEX `invocations_caller`;--> statement-breakpoint
CREATE INDEX `invocations_caller` ON `invocations` (`caller_id`,`started_at`);