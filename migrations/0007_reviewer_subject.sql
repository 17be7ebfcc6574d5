ALTER TABLE `reviews` ADD `reviewer_subject` text DEFAULT '' NOT NULL;--> statement-breakpoint
-- Reviews recorded before subjects were: the identity of record is the best that is known.
UPDATE `reviews` SET `reviewer_subject` = `reviewer` WHERE `reviewer_subject` = '';
