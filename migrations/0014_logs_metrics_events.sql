CREATE TABLE "alert_states" (
	"key" text PRIMARY KEY NOT NULL,
	"firing" boolean NOT NULL,
	"since" timestamp with time zone DEFAULT now() NOT NULL,
	"data" jsonb DEFAULT '{}'::jsonb NOT NULL
);
--> statement-breakpoint
CREATE TABLE "auto_rollback_settings" (
	"environment_id" uuid PRIMARY KEY NOT NULL,
	"enabled" boolean,
	"window_seconds" integer,
	"error_rate" real,
	"min_requests" integer,
	"restarts" integer,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "events" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"app_id" uuid,
	"environment_id" uuid,
	"env_name" text,
	"kind" text NOT NULL,
	"severity" text NOT NULL,
	"message" text NOT NULL,
	"data" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"dedupe_key" text,
	"created_at" timestamp (6) with time zone DEFAULT now() NOT NULL,
	"notified_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "host_metrics" (
	"node" text DEFAULT 'local' NOT NULL,
	"step" integer NOT NULL,
	"at" timestamp with time zone NOT NULL,
	"cpu_busy" real NOT NULL,
	"cpus" integer NOT NULL,
	"memory_total_bytes" bigint NOT NULL,
	"memory_available_bytes" bigint NOT NULL,
	"load1" real NOT NULL,
	"load5" real NOT NULL,
	"load15" real NOT NULL,
	"root_total_bytes" bigint NOT NULL,
	"root_free_bytes" bigint NOT NULL,
	"docker_total_bytes" bigint,
	"docker_free_bytes" bigint,
	"samples" integer DEFAULT 1 NOT NULL,
	CONSTRAINT "host_metrics_node_step_at_pk" PRIMARY KEY("node","step","at")
);
--> statement-breakpoint
CREATE TABLE "log_cursors" (
	"container_id" text PRIMARY KEY NOT NULL,
	"environment_id" uuid NOT NULL,
	"since" text,
	"finished_at" timestamp with time zone,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "log_drains" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"app_id" uuid NOT NULL,
	"name" text NOT NULL,
	"kind" text NOT NULL,
	"config_ciphertext" text NOT NULL,
	"key_id" text NOT NULL,
	"target" text NOT NULL,
	"cursor" bigint DEFAULT 0 NOT NULL,
	"delivered" bigint DEFAULT 0 NOT NULL,
	"dropped" bigint DEFAULT 0 NOT NULL,
	"last_delivered_at" timestamp with time zone,
	"failing_since" timestamp with time zone,
	"last_error" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "log_lines" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"environment_id" uuid NOT NULL,
	"at" timestamp (6) with time zone NOT NULL,
	"stored_at" timestamp (6) with time zone DEFAULT now() NOT NULL,
	"source" text NOT NULL,
	"process_type" text NOT NULL,
	"replica" text NOT NULL,
	"release_id" uuid,
	"release_version" integer,
	"stream" "log_stream" NOT NULL,
	"line" text NOT NULL
);
--> statement-breakpoint
CREATE TABLE "log_usage" (
	"environment_id" uuid PRIMARY KEY NOT NULL,
	"bytes" bigint DEFAULT 0 NOT NULL,
	"lines" bigint DEFAULT 0 NOT NULL,
	"retention_days" integer,
	"retention_mb" integer,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "notification_channels" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"app_id" uuid,
	"name" text NOT NULL,
	"kind" text NOT NULL,
	"config_ciphertext" text NOT NULL,
	"key_id" text NOT NULL,
	"target" text NOT NULL,
	"enabled" boolean DEFAULT true NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "notification_channels_name" UNIQUE NULLS NOT DISTINCT("app_id","name")
);
--> statement-breakpoint
CREATE TABLE "notification_deliveries" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"channel_id" uuid NOT NULL,
	"event_id" bigint,
	"throttle_key" text NOT NULL,
	"state" text DEFAULT 'pending' NOT NULL,
	"payload" jsonb NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"next_attempt_at" timestamp with time zone DEFAULT now() NOT NULL,
	"locked_until" timestamp with time zone,
	"last_error" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"sent_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "notification_subscriptions" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"channel_id" uuid NOT NULL,
	"app_id" uuid,
	"kinds" text[] DEFAULT '{}'::text[] NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "notification_subscriptions_scope" UNIQUE NULLS NOT DISTINCT("channel_id","app_id")
);
--> statement-breakpoint
CREATE TABLE "release_watches" (
	"release_id" uuid PRIMARY KEY NOT NULL,
	"environment_id" uuid NOT NULL,
	"previous_release_id" uuid,
	"started_at" timestamp with time zone DEFAULT now() NOT NULL,
	"until" timestamp with time zone NOT NULL,
	"state" text DEFAULT 'watching' NOT NULL,
	"reason" text,
	"rollback_deployment_id" uuid,
	"finished_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "replica_metrics" (
	"environment_id" uuid NOT NULL,
	"replica" text NOT NULL,
	"process_type" text NOT NULL,
	"release_id" uuid,
	"step" integer NOT NULL,
	"at" timestamp with time zone NOT NULL,
	"cpu_seconds" double precision DEFAULT 0 NOT NULL,
	"memory_bytes" bigint DEFAULT 0 NOT NULL,
	"memory_max_bytes" bigint DEFAULT 0 NOT NULL,
	"memory_limit_bytes" bigint,
	"rx_bytes" bigint DEFAULT 0 NOT NULL,
	"tx_bytes" bigint DEFAULT 0 NOT NULL,
	"samples" integer DEFAULT 0 NOT NULL,
	CONSTRAINT "replica_metrics_environment_id_replica_step_at_pk" PRIMARY KEY("environment_id","replica","step","at")
);
--> statement-breakpoint
CREATE TABLE "request_metrics" (
	"environment_id" uuid NOT NULL,
	"release_id" uuid,
	"step" integer NOT NULL,
	"at" timestamp with time zone NOT NULL,
	"status_1xx" bigint DEFAULT 0 NOT NULL,
	"status_2xx" bigint DEFAULT 0 NOT NULL,
	"status_3xx" bigint DEFAULT 0 NOT NULL,
	"status_4xx" bigint DEFAULT 0 NOT NULL,
	"status_5xx" bigint DEFAULT 0 NOT NULL,
	"bytes_in" bigint DEFAULT 0 NOT NULL,
	"bytes_out" bigint DEFAULT 0 NOT NULL,
	"latency_buckets" bigint[] NOT NULL,
	"latency_sum" double precision DEFAULT 0 NOT NULL,
	CONSTRAINT "request_metrics_bucket" UNIQUE NULLS NOT DISTINCT("environment_id","release_id","step","at")
);
--> statement-breakpoint
CREATE TABLE "restart_metrics" (
	"environment_id" uuid NOT NULL,
	"process_type" text NOT NULL,
	"release_id" uuid,
	"step" integer NOT NULL,
	"at" timestamp with time zone NOT NULL,
	"restarts" integer DEFAULT 0 NOT NULL,
	"oom_kills" integer DEFAULT 0 NOT NULL,
	CONSTRAINT "restart_metrics_bucket" UNIQUE NULLS NOT DISTINCT("environment_id","process_type","release_id","step","at")
);
--> statement-breakpoint
CREATE TABLE "schedule_watches" (
	"key" text PRIMARY KEY NOT NULL,
	"checked_until" timestamp with time zone NOT NULL
);
--> statement-breakpoint
ALTER TABLE "auto_rollback_settings" ADD CONSTRAINT "auto_rollback_settings_environment_id_environments_id_fk" FOREIGN KEY ("environment_id") REFERENCES "public"."environments"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "events" ADD CONSTRAINT "events_app_id_apps_id_fk" FOREIGN KEY ("app_id") REFERENCES "public"."apps"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "events" ADD CONSTRAINT "events_environment_id_environments_id_fk" FOREIGN KEY ("environment_id") REFERENCES "public"."environments"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "log_cursors" ADD CONSTRAINT "log_cursors_environment_id_environments_id_fk" FOREIGN KEY ("environment_id") REFERENCES "public"."environments"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "log_drains" ADD CONSTRAINT "log_drains_app_id_apps_id_fk" FOREIGN KEY ("app_id") REFERENCES "public"."apps"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "log_lines" ADD CONSTRAINT "log_lines_environment_id_environments_id_fk" FOREIGN KEY ("environment_id") REFERENCES "public"."environments"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "log_usage" ADD CONSTRAINT "log_usage_environment_id_environments_id_fk" FOREIGN KEY ("environment_id") REFERENCES "public"."environments"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "notification_channels" ADD CONSTRAINT "notification_channels_app_id_apps_id_fk" FOREIGN KEY ("app_id") REFERENCES "public"."apps"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "notification_deliveries" ADD CONSTRAINT "notification_deliveries_channel_id_notification_channels_id_fk" FOREIGN KEY ("channel_id") REFERENCES "public"."notification_channels"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "notification_deliveries" ADD CONSTRAINT "notification_deliveries_event_id_events_id_fk" FOREIGN KEY ("event_id") REFERENCES "public"."events"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "notification_subscriptions" ADD CONSTRAINT "notification_subscriptions_channel_id_notification_channels_id_fk" FOREIGN KEY ("channel_id") REFERENCES "public"."notification_channels"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "notification_subscriptions" ADD CONSTRAINT "notification_subscriptions_app_id_apps_id_fk" FOREIGN KEY ("app_id") REFERENCES "public"."apps"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "release_watches" ADD CONSTRAINT "release_watches_release_id_releases_id_fk" FOREIGN KEY ("release_id") REFERENCES "public"."releases"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "release_watches" ADD CONSTRAINT "release_watches_environment_id_environments_id_fk" FOREIGN KEY ("environment_id") REFERENCES "public"."environments"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "release_watches" ADD CONSTRAINT "release_watches_previous_release_id_releases_id_fk" FOREIGN KEY ("previous_release_id") REFERENCES "public"."releases"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "replica_metrics" ADD CONSTRAINT "replica_metrics_environment_id_environments_id_fk" FOREIGN KEY ("environment_id") REFERENCES "public"."environments"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "request_metrics" ADD CONSTRAINT "request_metrics_environment_id_environments_id_fk" FOREIGN KEY ("environment_id") REFERENCES "public"."environments"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "restart_metrics" ADD CONSTRAINT "restart_metrics_environment_id_environments_id_fk" FOREIGN KEY ("environment_id") REFERENCES "public"."environments"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "events_app" ON "events" USING btree ("app_id","id");--> statement-breakpoint
CREATE UNIQUE INDEX "events_dedupe" ON "events" USING btree ("dedupe_key");--> statement-breakpoint
CREATE INDEX "events_unnotified" ON "events" USING btree ("id") WHERE notified_at is null;--> statement-breakpoint
CREATE UNIQUE INDEX "log_drains_app_name" ON "log_drains" USING btree ("app_id","name");--> statement-breakpoint
CREATE INDEX "log_lines_environment_at" ON "log_lines" USING btree ("environment_id","at");--> statement-breakpoint
CREATE INDEX "log_lines_environment_id" ON "log_lines" USING btree ("environment_id","id");--> statement-breakpoint
CREATE UNIQUE INDEX "notification_deliveries_event" ON "notification_deliveries" USING btree ("channel_id","event_id");--> statement-breakpoint
CREATE INDEX "notification_deliveries_due" ON "notification_deliveries" USING btree ("next_attempt_at") WHERE state = 'pending';--> statement-breakpoint
CREATE INDEX "notification_deliveries_throttle" ON "notification_deliveries" USING btree ("channel_id","throttle_key","created_at");--> statement-breakpoint
CREATE INDEX "release_watches_watching" ON "release_watches" USING btree ("until") WHERE state = 'watching';--> statement-breakpoint
CREATE INDEX "replica_metrics_at" ON "replica_metrics" USING btree ("step","at");--> statement-breakpoint
CREATE INDEX "request_metrics_at" ON "request_metrics" USING btree ("step","at");