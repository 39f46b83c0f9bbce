CREATE TABLE "ref_events" (
	"app_id" uuid NOT NULL,
	"key" text NOT NULL,
	"at" timestamp with time zone NOT NULL,
	"identity" text NOT NULL,
	CONSTRAINT "ref_events_app_id_key_pk" PRIMARY KEY("app_id","key")
);
--> statement-breakpoint
ALTER TABLE "apps" ADD COLUMN "github_hook_target_id" bigint;--> statement-breakpoint
ALTER TABLE "ref_events" ADD CONSTRAINT "ref_events_app_id_apps_id_fk" FOREIGN KEY ("app_id") REFERENCES "public"."apps"("id") ON DELETE cascade ON UPDATE no action;