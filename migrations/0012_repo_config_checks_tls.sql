ALTER TYPE "public"."deployment_state" ADD VALUE 'waiting_for_checks' BEFORE 'queued';--> statement-breakpoint
ALTER TYPE "public"."deployment_state" ADD VALUE 'skipped';--> statement-breakpoint
CREATE TABLE "certificate_authorities" (
	"name" text PRIMARY KEY NOT NULL,
	"certificate_pem" text NOT NULL,
	"key_ciphertext" text NOT NULL,
	"key_id" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "environments" ALTER COLUMN "health_path" DROP DEFAULT;--> statement-breakpoint
ALTER TABLE "environments" ALTER COLUMN "health_path" DROP NOT NULL;--> statement-breakpoint
UPDATE "environments" SET "health_path" = NULL WHERE "health_path" = '/health';--> statement-breakpoint
ALTER TABLE "apps" ADD COLUMN "config_path" text DEFAULT 'pier.json' NOT NULL;--> statement-breakpoint
ALTER TABLE "apps" ADD COLUMN "registry_credentials_ciphertext" text;--> statement-breakpoint
ALTER TABLE "apps" ADD COLUMN "registry_credentials_key_id" text;--> statement-breakpoint
ALTER TABLE "environments" ADD COLUMN "port" integer;--> statement-breakpoint
ALTER TABLE "environments" ADD COLUMN "wait_for_checks" boolean;--> statement-breakpoint
ALTER TABLE "environments" ADD COLUMN "required_checks" text[];--> statement-breakpoint
ALTER TABLE "environments" ADD COLUMN "checks_timeout_ms" integer DEFAULT 1800000 NOT NULL;--> statement-breakpoint
ALTER TABLE "deployments" ADD COLUMN "image" text;--> statement-breakpoint
ALTER TABLE "deployments" ADD COLUMN "repo_config" jsonb;--> statement-breakpoint
ALTER TABLE "deployments" ADD COLUMN "checks_deadline_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "releases" ADD COLUMN "port" integer;--> statement-breakpoint
ALTER TABLE "releases" ADD COLUMN "release_command" text;--> statement-breakpoint
ALTER TABLE "releases" ADD COLUMN "settings" jsonb DEFAULT '{}'::jsonb NOT NULL;--> statement-breakpoint
ALTER TABLE "releases" ADD COLUMN "backup_id" uuid;--> statement-breakpoint
ALTER TABLE "service_links" ADD COLUMN "url_params" jsonb DEFAULT '{}'::jsonb NOT NULL;