CREATE TYPE "public"."rollout_state" AS ENUM('active', 'succeeded', 'failed', 'superseded');--> statement-breakpoint
CREATE TABLE "leases" (
	"name" text PRIMARY KEY NOT NULL,
	"holder" text NOT NULL,
	"acquired_at" timestamp with time zone DEFAULT now() NOT NULL,
	"expires_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "rollouts" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"environment_id" uuid NOT NULL,
	"deployment_id" uuid,
	"from_release_id" uuid,
	"to_release_id" uuid NOT NULL,
	"state" "rollout_state" DEFAULT 'active' NOT NULL,
	"reason" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"finished_at" timestamp with time zone
);
--> statement-breakpoint
ALTER TABLE "environments" ADD COLUMN "live_release_id" uuid;--> statement-breakpoint
ALTER TABLE "replicas" ADD COLUMN "host" text;--> statement-breakpoint
ALTER TABLE "replicas" RENAME COLUMN "host_port" TO "port";--> statement-breakpoint
ALTER TABLE "rollouts" ADD CONSTRAINT "rollouts_environment_id_environments_id_fk" FOREIGN KEY ("environment_id") REFERENCES "public"."environments"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "rollouts" ADD CONSTRAINT "rollouts_deployment_id_deployments_id_fk" FOREIGN KEY ("deployment_id") REFERENCES "public"."deployments"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "rollouts" ADD CONSTRAINT "rollouts_from_release_id_releases_id_fk" FOREIGN KEY ("from_release_id") REFERENCES "public"."releases"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "rollouts" ADD CONSTRAINT "rollouts_to_release_id_releases_id_fk" FOREIGN KEY ("to_release_id") REFERENCES "public"."releases"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "rollouts_active" ON "rollouts" USING btree ("environment_id") WHERE state = 'active';--> statement-breakpoint
CREATE INDEX "rollouts_deployment" ON "rollouts" USING btree ("deployment_id");--> statement-breakpoint
-- Replicas started before addresses were stored were published on the loopback of the one Docker Engine.
UPDATE "replicas" SET "host" = '127.0.0.1' WHERE "port" IS NOT NULL;--> statement-breakpoint
-- Until now the desired release was written only once it served: it is the live one.
UPDATE "environments" SET "live_release_id" = "desired_release_id";