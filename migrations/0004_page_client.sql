CREATE TABLE `page_clients` (
	`client_id` text PRIMARY KEY NOT NULL,
	`client_secret` text,
	`issuer` text NOT NULL,
	`redirect_uri` text NOT NULL,
	`registered_at` integer NOT NULL,
	`last_token_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `page_clients_issuer` ON `page_clients` (`issuer`,`redirect_uri`,`registered_at`);