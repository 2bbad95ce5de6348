-- The local stack's sample data: three users (their Cognito ids are linked later by
-- `cruddur db update-cognito-user-ids`) and one activity that expires in ten days.
INSERT INTO public.users (display_name, email, handle, cognito_user_id)
VALUES
  ('Timothy Manuel', 'timothys.manuel@gmail.com', 'timmy-cde',  'MOCK'),
  ('Tim Suarez',     'suareztim3@gmail.com',      'tim-suarez', 'MOCK'),
  ('Londo Mollari',  'lmollari@centari.com',      'londo',      'MOCK');

INSERT INTO public.activities (user_uuid, message, expires_at)
SELECT users.uuid, 'This was imported as seed data!', current_timestamp + interval '10 day'
FROM public.users
WHERE users.handle = 'timmy-cde';
