-- A user's uuid, handle and display name, by handle.
SELECT
  users.uuid,
  users.handle,
  users.display_name
FROM public.users
WHERE users.handle = %(handle)s;
