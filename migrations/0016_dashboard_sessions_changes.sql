CREATE TABLE "dashboard_sessions" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"secret_hash" text NOT NULL,
	"token_id" uuid,
	"app_id" uuid,
	"admin_fingerprint" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"last_seen_at" timestamp with time zone DEFAULT now() NOT NULL,
	"revoked_at" timestamp with time zone,
	CONSTRAINT "dashboard_sessions_secret_hash_unique" UNIQUE("secret_hash")
);
--> statement-breakpoint
ALTER TABLE "dashboard_sessions" ADD CONSTRAINT "dashboard_sessions_token_id_api_tokens_id_fk" FOREIGN KEY ("token_id") REFERENCES "public"."api_tokens"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "dashboard_sessions" ADD CONSTRAINT "dashboard_sessions_app_id_apps_id_fk" FOREIGN KEY ("app_id") REFERENCES "public"."apps"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "dashboard_sessions_expires_at_idx" ON "dashboard_sessions" USING btree ("expires_at");--> statement-breakpoint
-- The change feed (GET /changes, the dashboard's live lists): every write to a watched table notifies
-- `pier_changes` with the table and the app it belongs to (null for the host's and the services' own rows).
-- It runs with the writer's rights: the proxy's role (which updates replicas) may read environments(id, app_id).
CREATE OR REPLACE FUNCTION pier_notify_change() RETURNS trigger LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
  r jsonb := to_jsonb(CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END);
  app text := CASE WHEN TG_TABLE_NAME = 'apps' THEN r->>'id' ELSE r->>'app_id' END;
BEGIN
  IF app IS NULL AND r->>'environment_id' IS NOT NULL THEN
    SELECT e.app_id::text INTO app FROM environments e WHERE e.id = (r->>'environment_id')::uuid;
  END IF;
  IF app IS NULL AND TG_TABLE_NAME = 'certificates' THEN
    SELECT e.app_id::text INTO app FROM domains d JOIN environments e ON e.id = d.environment_id WHERE d.hostname = r->>'hostname';
  END IF;
  PERFORM pg_notify('pier_changes', json_build_object('t', TG_TABLE_NAME, 'a', app)::text);
  RETURN NULL;
END $$;
--> statement-breakpoint
DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['apps', 'environments', 'variables', 'releases', 'deployments', 'replicas', 'domains',
    'certificates', 'events', 'environment_processes', 'cron_jobs', 'runs', 'managed_services', 'service_backups',
    'service_links', 'service_operations', 'notification_channels', 'volumes', 'volume_backups', 'rollouts']
  LOOP
    EXECUTE format('CREATE TRIGGER pier_notify_change AFTER INSERT OR UPDATE OR DELETE ON %I FOR EACH ROW EXECUTE FUNCTION pier_notify_change()', t);
  END LOOP;
END $$;
