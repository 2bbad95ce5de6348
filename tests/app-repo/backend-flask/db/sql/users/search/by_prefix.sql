-- Users whose handle starts with a prefix (a query the user added, two folders deep).
SELECT handle, display_name, location
FROM public.users
WHERE handle LIKE %(prefix)s || '%%'
ORDER BY handle
