PRAGMA foreign_keys=OFF;--> statement-breakpoint
CREATE TABLE `__new_analytics_exports` (
	`object_key` text PRIMARY KEY NOT NULL,
	`day` text NOT NULL,
	`rows` integer NOT NULL,
	`bytes` integer NOT NULL,
	`exported_at` integer NOT NULL,
	`deleted_at` integer
);
--> statement-breakpoint
INSERT INTO `__new_analytics_exports`("object_key", "day", "rows", "bytes", "exported_at", "deleted_at") SELECT "object_key", "day", "rows", "bytes", "exported_at", "deleted_at" FROM `analytics_exports`;--> statement-breakpoint
DROP TABLE `analytics_exports`;--> statement-breakpoint
ALTER TABLE `__new_analytics_exports` RENAME TO `analytics_exports`;--> statement-breakpoint
PRAGMA foreign_keys=ON;--> statement-breakpoint
CREATE INDEX `analytics_exports_day` ON `analytics_exports` (`day`);