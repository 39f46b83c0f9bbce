ALTER TABLE "service_backups" DROP CONSTRAINT "service_backups_service_id_managed_services_id_fk";
--> statement-breakpoint
ALTER TABLE "service_backups" ALTER COLUMN "service_id" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "service_backups" ADD COLUMN "service_name" text;--> statement-breakpoint
ALTER TABLE "service_backups" ADD COLUMN "service_type" "service_type";--> statement-breakpoint
ALTER TABLE "service_backups" ADD COLUMN "service_version" text;--> statement-breakpoint
UPDATE "service_backups" AS b SET "service_name" = s."name", "service_type" = s."type", "service_version" = s."version" FROM "managed_services" AS s WHERE s."id" = b."service_id";--> statement-breakpoint
ALTER TABLE "service_backups" ALTER COLUMN "service_name" SET NOT NULL;--> statement-breakpoint
ALTER TABLE "service_backups" ALTER COLUMN "service_type" SET NOT NULL;--> statement-breakpoint
ALTER TABLE "service_backups" ALTER COLUMN "service_version" SET NOT NULL;--> statement-breakpoint
ALTER TABLE "service_backups" ADD CONSTRAINT "service_backups_service_id_managed_services_id_fk" FOREIGN KEY ("service_id") REFERENCES "public"."managed_services"("id") ON DELETE set null ON UPDATE no action;
