ALTER TYPE "public"."service_operation_kind" ADD VALUE 'roles';--> statement-breakpoint
CREATE TABLE "service_link_roles" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"service_id" uuid NOT NULL,
	"environment_id" uuid,
	"name" text NOT NULL,
	"password_ciphertext" text NOT NULL,
	"key_id" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"ready_at" timestamp with time zone,
	"unlinked_at" timestamp with time zone,
	CONSTRAINT "service_link_roles_name_unique" UNIQUE("name")
);
--> statement-breakpoint
ALTER TABLE "service_link_roles" ADD CONSTRAINT "service_link_roles_service_id_managed_services_id_fk" FOREIGN KEY ("service_id") REFERENCES "public"."managed_services"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "service_link_roles" ADD CONSTRAINT "service_link_roles_environment_id_environments_id_fk" FOREIGN KEY ("environment_id") REFERENCES "public"."environments"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "service_link_roles_active" ON "service_link_roles" USING btree ("service_id","environment_id") WHERE unlinked_at is null;--> statement-breakpoint
CREATE INDEX "service_link_roles_environment" ON "service_link_roles" USING btree ("environment_id");