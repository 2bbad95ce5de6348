-- Cruddur's Postgres schema: the users who sign in through Cognito and their activities
-- (the posts of the home feed). Loading it replaces both tables: it is destructive.
CREATE EXTENSION IF NOT EXISTS "uuid-ossp";

DROP TABLE IF EXISTS public.activities;
DROP TABLE IF EXISTS public.users;
DROP TABLE IF EXISTS public.schema_information;
DROP TABLE IF EXISTS public.cruddur_migrations;

CREATE TABLE public.users (
  uuid            UUID PRIMARY KEY DEFAULT uuid_generate_v4(),
  display_name    TEXT NOT NULL,
  handle          TEXT NOT NULL,
  email           TEXT NOT NULL,
  cognito_user_id TEXT NOT NULL,
  created_at      TIMESTAMP DEFAULT current_timestamp NOT NULL
);

CREATE TABLE public.activities (
  uuid                   UUID PRIMARY KEY DEFAULT uuid_generate_v4(),
  user_uuid              UUID NOT NULL,
  message                TEXT NOT NULL,
  replies_count          INTEGER DEFAULT 0,
  reposts_count          INTEGER DEFAULT 0,
  likes_count            INTEGER DEFAULT 0,
  reply_to_activity_uuid INTEGER,
  expires_at             TIMESTAMP,
  created_at             TIMESTAMP DEFAULT current_timestamp NOT NULL
);

-- The app's migration marker: the newest migration applied ('0': none yet). The app's
-- bin/db/migrate and `cruddur db migrate` both read and move it.
CREATE TABLE public.schema_information (
  id                  INTEGER UNIQUE,
  last_successful_run TEXT
);
INSERT INTO public.schema_information (id, last_successful_run) VALUES (1, '0');
