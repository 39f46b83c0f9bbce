CREATE TABLE "outbox" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"job" text NOT NULL,
	"deployment_id" uuid NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"enqueued_at" timestamp with time zone
);
--> statement-breakpoint
ALTER TABLE "apps" ADD COLUMN "webhook_secret_ciphertext" text;--> statement-breakpoint
ALTER TABLE "apps" ADD COLUMN "webhook_secret_key_id" text;--> statement-breakpoint
ALTER TABLE "apps" ADD COLUMN "repo_credentials_ciphertext" text;--> statement-breakpoint
ALTER TABLE "apps" ADD COLUMN "repo_credentials_key_id" text;--> statement-breakpoint
ALTER TABLE "deployments" ADD COLUMN "cancel_requested_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "deployments" ADD COLUMN "delivery_id" text;--> statement-breakpoint
ALTER TABLE "outbox" ADD CONSTRAINT "outbox_deployment_id_deployments_id_fk" FOREIGN KEY ("deployment_id") REFERENCES "public"."deployments"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "outbox_pending" ON "outbox" USING btree ("id") WHERE enqueued_at is null;--> statement-breakpoint
CREATE INDEX "deployments_active" ON "deployments" USING btree ("state") WHERE state in ('queued', 'building', 'deploying');