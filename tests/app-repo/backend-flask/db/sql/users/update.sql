-- Change a user's bio and display name; says whose.
UPDATE public.users
SET
  bio = %(bio)s,
  display_name = %(display_name)s
WHERE
  users.handle = %(handle)s
RETURNING handle, bio;
