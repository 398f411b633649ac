-- A small schema of the consumer's own (not the repo fixture): two tenants' notes.
create table notes (
  id integer primary key,
  tenant_id text not null,
  title text not null,
  author_email text not null,
  api_token text not null
);
insert into notes values
  (1, 'north', 'Kick-off', 'ann@north.example', 'tok-north-1'),
  (2, 'north', 'Retro', 'bob@north.example', 'tok-north-2'),
  (3, 'south', 'Budget', 'cho@south.example', 'tok-south-1');
create role consumer_app nosuperuser nobypassrls;
grant usage on schema public to consumer_app;
grant select on notes to consumer_app;
