-- this file was manually created
INSERT INTO public.users (display_name, email, handle, cognito_user_id)
VALUES
  ('Kim Moreau', 'kim@example.test', 'kimmy', 'MOCK'),
  ('Londo Mollari', 'lmollari@centari.test', 'londo', 'MOCK'),
  ('Timothée O''Brien', 'tim@example.test', 'timmy-cde', 'MOCK');

INSERT INTO public.activities (user_uuid, message, expires_at)
VALUES
  (
    (SELECT uuid from public.users WHERE users.handle = 'kimmy' LIMIT 1),
    'Seeded from the repository, 100% of it!',
    current_timestamp + interval '10 day'
  ),
  (
    (SELECT uuid from public.users WHERE users.handle = 'londo' LIMIT 1),
    'Only the repository''s seed has this one.',
    current_timestamp + interval '5 day'
  );
