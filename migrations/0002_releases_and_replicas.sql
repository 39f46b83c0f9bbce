CREATE TYPE "public"."replica_state" AS ENUM('starting', 'serving', 'draining', 'stopped');--> statement-breakpoint
CREATE TABLE "replicas" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"environment_id" uuid NOT NULL,
	"release_id" uuid NOT NULL,
	"container_id" text,
	"container_name" text NOT NULL,
	"host_port" integer,
	"state" "replica_state" DEFAULT 'starting' NOT NULL,
	"healthy" boolean DEFAULT true NOT NULL,
	"unhealthy_since" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "replicas_container_name_unique" UNIQUE("container_name")
);
--> statement-breakpoint
ALTER TABLE "deployments" ADD COLUMN "deploy_started_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "environments" ADD COLUMN "health" text DEFAULT 'ok' NOT NULL;--> statement-breakpoint
ALTER TABLE "environments" ADD COLUMN "restart_streak" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "environments" ADD COLUMN "next_restart_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "environments" ADD COLUMN "last_crash_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "environments" ADD COLUMN "drain_timeout_ms" integer DEFAULT 30000 NOT NULL;--> statement-breakpoint
ALTER TABLE "replicas" ADD CONSTRAINT "replicas_environment_id_environments_id_fk" FOREIGN KEY ("environment_id") REFERENCES "public"."environments"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "replicas" ADD CONSTRAINT "replicas_release_id_releases_id_fk" FOREIGN KEY ("release_id") REFERENCES "public"."releases"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "replicas_environment_state" ON "replicas" USING btree ("environment_id","state");