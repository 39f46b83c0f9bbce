ALTER TABLE "service_links" ADD COLUMN "variable" text;--> statement-breakpoint
CREATE UNIQUE INDEX "service_links_environment_variable" ON "service_links" USING btree ("environment_id","variable");