-- The uuid of the user signed in with this Cognito id.
SELECT users.uuid
FROM public.users
WHERE users.cognito_user_id = %(cognito_user_id)s
LIMIT 1;
