CREATE TABLE `active_user_counts` (
	`period` text NOT NULL,
	`start` text NOT NULL,
	`kind` text NOT NULL,
	`name` text NOT NULL,
	`users` integer NOT NULL,
	PRIMARY KEY(`period`, `start`, `kind`, `name`)
);
