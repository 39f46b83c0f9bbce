ALTER TABLE "environments" ADD COLUMN "slug" text;--> statement-breakpoint
ALTER TABLE "environments" ADD COLUMN "hostname_label" text;--> statement-breakpoint
UPDATE "environments" AS e SET "slug" = a."name" || '-' || e."name", "hostname_label" = CASE WHEN e."name" = 'production' THEN a."name" ELSE a."name" || '-' || e."name" END FROM "apps" AS a WHERE a."id" = e."app_id";--> statement-breakpoint
-- Environments that already clash keep running; only the oldest of each clash holds the name.
UPDATE "environments" SET "slug" = NULL WHERE "id" IN (SELECT "id" FROM (SELECT "id", row_number() OVER (PARTITION BY "slug" ORDER BY "created_at", "id") AS n FROM "environments") AS d WHERE d.n > 1);--> statement-breakpoint
UPDATE "environments" SET "hostname_label" = NULL WHERE "id" IN (SELECT "id" FROM (SELECT "id", row_number() OVER (PARTITION BY "hostname_label" ORDER BY "created_at", "id") AS n FROM "environments") AS d WHERE d.n > 1);--> statement-breakpoint
CREATE UNIQUE INDEX "environments_slug" ON "environments" USING btree ("slug");--> statement-breakpoint
CREATE UNIQUE INDEX "environments_hostname_label" ON "environments" USING btree ("hostname_label");
