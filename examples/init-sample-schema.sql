-- A sample schema for `tessera init` (not the SaaS fixture): a project tracker whose rows belong to workspaces.
-- Try it:  createdb tracker && psql -d tracker -f examples/init-sample-schema.sql
--          npx tessera init --db postgres://localhost/tracker --out tracker.yaml
--          npx tessera check tracker.yaml --database-url postgres://localhost/tracker
-- CI runs exactly this against the installed package (scripts/consumer-test.sh).
create table workspaces (
  id uuid primary key default gen_random_uuid(),
  name text not null,
  created_at timestamptz not null default now()
);

create table members (
  id uuid primary key default gen_random_uuid(),
  workspace_id uuid not null references workspaces(id),
  email text not null,
  phone text,
  password_hash text not null,
  unique (workspace_id, email)
);

create table projects (
  id bigint generated always as identity primary key,
  workspace_id uuid not null references workspaces(id),
  name text not null,
  archived boolean not null default false
);

create table tasks (
  id bigint generated always as identity primary key,
  workspace_id uuid not null references workspaces(id),
  project_id bigint not null references projects(id),
  assignee_id uuid references members(id),
  title text not null,
  due_on date,
  created_at timestamptz not null default now()
);

create table api_tokens (
  id uuid primary key default gen_random_uuid(),
  workspace_id uuid not null references workspaces(id),
  token_secret text not null,
  label text not null
);

create table labels (
  id serial primary key,
  name text not null unique
);
