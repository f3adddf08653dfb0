-- Posts planned with the change they announce (a portfolio notice) are found by an index.

-- A portfolio request's return or expiry plans its notices in the same transaction
-- (status 'claimed', no attempt yet); the notices job lists those nobody holds by retry_at.
CREATE INDEX scheduled_posts_due ON scheduled_posts (retry_at) WHERE status = 'claimed';
