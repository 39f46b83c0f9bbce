CREATE TYPE "public"."backup_state" AS ENUM('pending', 'running', 'verifying', 'good', 'failed');--> statement-breakpoint
CREATE TYPE "public"."operation_state" AS ENUM('pending', 'running', 'done', 'failed');--> statement-breakpoint
CREATE TYPE "public"."service_operation_kind" AS ENUM('provision', 'backup', 'restore', 'delete');--> statement-breakpoint
CREATE TABLE "acme_accounts" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"directory_url" text NOT NULL,
	"email" text,
	"account_url" text,
	"key_ciphertext" text NOT NULL,
	"key_id" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "acme_accounts_directory_url_unique" UNIQUE("directory_url")
);
--> statement-breakpoint
CREATE TABLE "acme_challenges" (
	"token" text PRIMARY KEY NOT NULL,
	"hostname" text NOT NULL,
	"key_authorization" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"expires_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "service_backups" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"service_id" uuid NOT NULL,
	"trigger" text NOT NULL,
	"state" "backup_state" DEFAULT 'pending' NOT NULL,
	"file_name" text,
	"size_bytes" bigint,
	"sha256" text,
	"verification" jsonb,
	"error" text,
	"scheduled_for" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"finished_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "service_operations" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"service_id" uuid NOT NULL,
	"kind" "service_operation_kind" NOT NULL,
	"state" "operation_state" DEFAULT 'pending' NOT NULL,
	"backup_id" uuid,
	"options" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"locked_until" timestamp with time zone,
	"error" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"finished_at" timestamp with time zone
);
--> statement-breakpoint
ALTER TABLE "apps" ADD COLUMN "previews_enabled" boolean DEFAULT true NOT NULL;--> statement-breakpoint
ALTER TABLE "apps" ADD COLUMN "fork_previews" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "apps" ADD COLUMN "preview_database" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "certificates" ADD COLUMN "order_url" text;--> statement-breakpoint
ALTER TABLE "certificates" ADD COLUMN "next_attempt_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "certificates" ADD COLUMN "failure_times" timestamp with time zone[] DEFAULT '{}'::timestamptz[] NOT NULL;--> statement-breakpoint
ALTER TABLE "certificates" ADD COLUMN "locked_until" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "environments" ADD COLUMN "pull_request" integer;--> statement-breakpoint
ALTER TABLE "environments" ADD COLUMN "from_fork" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "environments" ADD COLUMN "https_redirect" boolean DEFAULT true NOT NULL;--> statement-breakpoint
ALTER TABLE "environments" ADD COLUMN "hsts" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "managed_services" ADD COLUMN "image" text NOT NULL;--> statement-breakpoint
ALTER TABLE "managed_services" ADD COLUMN "container_id" text;--> statement-breakpoint
ALTER TABLE "managed_services" ADD COLUMN "backup_schedule" text DEFAULT '0 3 * * *' NOT NULL;--> statement-breakpoint
ALTER TABLE "managed_services" ADD COLUMN "backup_retention" integer DEFAULT 7 NOT NULL;--> statement-breakpoint
ALTER TABLE "managed_services" ADD COLUMN "last_error" text;--> statement-breakpoint
ALTER TABLE "managed_services" ADD COLUMN "owner_environment_id" uuid;--> statement-breakpoint
ALTER TABLE "managed_services" ADD COLUMN "ready_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "releases" ADD COLUMN "networks" text[] DEFAULT '{}'::text[] NOT NULL;--> statement-breakpoint
ALTER TABLE "service_backups" ADD CONSTRAINT "service_backups_service_id_managed_services_id_fk" FOREIGN KEY ("service_id") REFERENCES "public"."managed_services"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "service_operations" ADD CONSTRAINT "service_operations_service_id_managed_services_id_fk" FOREIGN KEY ("service_id") REFERENCES "public"."managed_services"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "service_operations" ADD CONSTRAINT "service_operations_backup_id_service_backups_id_fk" FOREIGN KEY ("backup_id") REFERENCES "public"."service_backups"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "service_backups_service" ON "service_backups" USING btree ("service_id","created_at");--> statement-breakpoint
CREATE UNIQUE INDEX "service_backups_slot" ON "service_backups" USING btree ("service_id","scheduled_for");--> statement-breakpoint
CREATE INDEX "service_operations_pending" ON "service_operations" USING btree ("created_at") WHERE state in ('pending', 'running');--> statement-breakpoint
ALTER TABLE "managed_services" ADD CONSTRAINT "managed_services_owner_environment_id_environments_id_fk" FOREIGN KEY ("owner_environment_id") REFERENCES "public"."environments"("id") ON DELETE set null ON UPDATE no action;