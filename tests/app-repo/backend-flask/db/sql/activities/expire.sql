-- Expire every activity of a user now (a write without RETURNING).
UPDATE public.activities
SET expires_at = current_timestamp
WHERE user_uuid = (SELECT uuid FROM public.users WHERE users.handle = %(handle)s LIMIT 1)
