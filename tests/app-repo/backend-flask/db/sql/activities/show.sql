-- One activity and its replies, as one JSON document.
SELECT
  (SELECT COALESCE(row_to_json(object_row),'{}'::json) FROM (
    SELECT
      activities.uuid,
      users.display_name,
      users.handle,
      activities.message,
      activities.created_at
    FROM public.activities
    INNER JOIN public.users ON users.uuid = activities.user_uuid
    WHERE activities.uuid = %(uuid)s
  ) object_row) as activity,
  (SELECT COALESCE(array_to_json(array_agg(row_to_json(array_row))),'[]'::json) FROM (
    SELECT
      activities.uuid,
      users.handle,
      activities.message
    FROM public.activities
    INNER JOIN public.users ON users.uuid = activities.user_uuid
    WHERE activities.reply_to_activity_uuid IS NOT NULL
    ORDER BY activities.created_at ASC
  ) array_row) as replies
