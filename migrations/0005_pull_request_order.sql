CREATE TABLE "pull_request_events" (
	"app_id" uuid NOT NULL,
	"number" integer NOT NULL,
	"updated_at" timestamp with time zone NOT NULL,
	"closed" boolean NOT NULL,
	CONSTRAINT "pull_request_events_app_id_number_pk" PRIMARY KEY("app_id","number")
);
--> statement-breakpoint
ALTER TABLE "pull_request_events" ADD CONSTRAINT "pull_request_events_app_id_apps_id_fk" FOREIGN KEY ("app_id") REFERENCES "public"."apps"("id") ON DELETE cascade ON UPDATE no action;