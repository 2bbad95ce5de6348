-- A user's profile (with the migrated bio) and their activities, as one JSON document.
SELECT
  (SELECT COALESCE(row_to_json(object_row),'{}'::json) FROM (
    SELECT
      users.uuid,
      users.handle,
      users.display_name,
      users.bio,
      (SELECT count(true) FROM public.activities WHERE activities.user_uuid = users.uuid) as cruds_count
  ) object_row) as profile,
  (SELECT COALESCE(array_to_json(array_agg(row_to_json(array_row))),'[]'::json) FROM (
    SELECT
      activities.uuid,
      activities.message,
      activities.created_at
    FROM public.activities
    WHERE activities.user_uuid = users.uuid
    ORDER BY activities.created_at DESC
    LIMIT 40
  ) array_row) as activities
FROM public.users
WHERE
  users.handle = %(handle)s
