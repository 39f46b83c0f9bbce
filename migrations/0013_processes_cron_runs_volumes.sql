CREATE TABLE "cron_jobs" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"environment_id" uuid NOT NULL,
	"name" text NOT NULL,
	"schedule" text NOT NULL,
	"command" jsonb NOT NULL,
	"timeout_seconds" integer,
	"time_zone" text,
	"concurrency" text DEFAULT 'forbid' NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "environment_processes" (
	"environment_id" uuid NOT NULL,
	"type" text NOT NULL,
	"replicas" integer,
	"memory_mb" integer,
	"cpus" real,
	"restart_streak" integer DEFAULT 0 NOT NULL,
	"next_restart_at" timestamp with time zone,
	"last_crash_at" timestamp with time zone,
	"health" text DEFAULT 'ok' NOT NULL,
	"last_exit" jsonb,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "environment_processes_environment_id_type_pk" PRIMARY KEY("environment_id","type")
);
--> statement-breakpoint
CREATE TABLE "run_log_lines" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"run_id" uuid NOT NULL,
	"stream" "log_stream" DEFAULT 'stdout' NOT NULL,
	"line" text NOT NULL,
	"at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "runs" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"app_id" uuid NOT NULL,
	"environment_id" uuid NOT NULL,
	"release_id" uuid,
	"kind" text NOT NULL,
	"cron_name" text,
	"slot" timestamp with time zone,
	"command" jsonb NOT NULL,
	"timeout_seconds" integer NOT NULL,
	"memory_mb" integer,
	"cpus" real,
	"state" text DEFAULT 'queued' NOT NULL,
	"exit_code" integer,
	"reason" text,
	"started_by" text NOT NULL,
	"container_id" text,
	"locked_until" timestamp with time zone,
	"locked_by" text,
	"cancel_requested_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"started_at" timestamp with time zone,
	"finished_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "volume_backups" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"volume_id" uuid,
	"environment_id" uuid,
	"volume_name" text NOT NULL,
	"trigger" text NOT NULL,
	"state" "backup_state" DEFAULT 'pending' NOT NULL,
	"file_name" text,
	"size_bytes" bigint,
	"sha256" text,
	"verification" jsonb,
	"error" text,
	"scheduled_for" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"finished_at" timestamp with time zone,
	"deleted_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "volume_operations" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"volume_id" uuid NOT NULL,
	"kind" text NOT NULL,
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
CREATE TABLE "volumes" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"environment_id" uuid NOT NULL,
	"name" text NOT NULL,
	"mount_path" text NOT NULL,
	"process_types" text[] DEFAULT '{web}'::text[] NOT NULL,
	"shared" boolean DEFAULT false NOT NULL,
	"docker_name" text NOT NULL,
	"backup_schedule" text DEFAULT '0 4 * * *' NOT NULL,
	"backup_retention" integer DEFAULT 7 NOT NULL,
	"deleting_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "volumes_docker_name_unique" UNIQUE("docker_name")
);
--> statement-breakpoint
ALTER TABLE "releases" ADD COLUMN "processes" jsonb DEFAULT '{"web":null}'::jsonb NOT NULL;--> statement-breakpoint
ALTER TABLE "releases" ADD COLUMN "cron" jsonb DEFAULT '[]'::jsonb NOT NULL;--> statement-breakpoint
ALTER TABLE "replicas" ADD COLUMN "process_type" text DEFAULT 'web' NOT NULL;--> statement-breakpoint
ALTER TABLE "replicas" ADD COLUMN "memory_mb" integer;--> statement-breakpoint
ALTER TABLE "replicas" ADD COLUMN "cpus" real;--> statement-breakpoint
ALTER TABLE "cron_jobs" ADD CONSTRAINT "cron_jobs_environment_id_environments_id_fk" FOREIGN KEY ("environment_id") REFERENCES "public"."environments"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "environment_processes" ADD CONSTRAINT "environment_processes_environment_id_environments_id_fk" FOREIGN KEY ("environment_id") REFERENCES "public"."environments"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "run_log_lines" ADD CONSTRAINT "run_log_lines_run_id_runs_id_fk" FOREIGN KEY ("run_id") REFERENCES "public"."runs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "runs" ADD CONSTRAINT "runs_app_id_apps_id_fk" FOREIGN KEY ("app_id") REFERENCES "public"."apps"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "runs" ADD CONSTRAINT "runs_environment_id_environments_id_fk" FOREIGN KEY ("environment_id") REFERENCES "public"."environments"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "runs" ADD CONSTRAINT "runs_release_id_releases_id_fk" FOREIGN KEY ("release_id") REFERENCES "public"."releases"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "volume_backups" ADD CONSTRAINT "volume_backups_volume_id_volumes_id_fk" FOREIGN KEY ("volume_id") REFERENCES "public"."volumes"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "volume_backups" ADD CONSTRAINT "volume_backups_environment_id_environments_id_fk" FOREIGN KEY ("environment_id") REFERENCES "public"."environments"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "volume_operations" ADD CONSTRAINT "volume_operations_volume_id_volumes_id_fk" FOREIGN KEY ("volume_id") REFERENCES "public"."volumes"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "volume_operations" ADD CONSTRAINT "volume_operations_backup_id_volume_backups_id_fk" FOREIGN KEY ("backup_id") REFERENCES "public"."volume_backups"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "volumes" ADD CONSTRAINT "volumes_environment_id_environments_id_fk" FOREIGN KEY ("environment_id") REFERENCES "public"."environments"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "cron_jobs_environment_name" ON "cron_jobs" USING btree ("environment_id","name");--> statement-breakpoint
CREATE INDEX "run_log_lines_run" ON "run_log_lines" USING btree ("run_id","id");--> statement-breakpoint
CREATE INDEX "runs_environment_created" ON "runs" USING btree ("environment_id","created_at");--> statement-breakpoint
CREATE INDEX "runs_cron" ON "runs" USING btree ("environment_id","cron_name","created_at");--> statement-breakpoint
CREATE UNIQUE INDEX "runs_cron_slot" ON "runs" USING btree ("environment_id","cron_name","slot");--> statement-breakpoint
CREATE INDEX "runs_pending" ON "runs" USING btree ("created_at") WHERE state in ('queued', 'running');--> statement-breakpoint
CREATE INDEX "volume_backups_volume" ON "volume_backups" USING btree ("volume_id","created_at");--> statement-breakpoint
CREATE UNIQUE INDEX "volume_backups_slot" ON "volume_backups" USING btree ("volume_id","scheduled_for");--> statement-breakpoint
CREATE INDEX "volume_operations_pending" ON "volume_operations" USING btree ("created_at") WHERE state in ('pending', 'running');--> statement-breakpoint
CREATE UNIQUE INDEX "volumes_environment_name" ON "volumes" USING btree ("environment_id","name") WHERE deleting_at is null;