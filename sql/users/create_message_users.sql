-- The two ends of a new message: the signed-in sender (by Cognito id) and the receiver
-- (by handle), each marked with its role.
SELECT
  users.uuid,
  users.display_name,
  users.handle,
  CASE
    WHEN users.cognito_user_id = %(cognito_user_id)s THEN 'sender'
    WHEN users.handle = %(user_receiver_handle)s THEN 'recv'
    ELSE 'other'
  END AS kind
FROM public.users
WHERE users.cognito_user_id = %(cognito_user_id)s
   OR users.handle = %(user_receiver_handle)s;
