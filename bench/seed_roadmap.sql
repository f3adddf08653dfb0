-- 50,000 roadmap members and 2,000,000 check-ins in one server (40 days each), for
-- `python -m bench.startup --seed-sql bench/seed_roadmap.sql`: start-up must not scan them.
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 49999)
INSERT INTO roadmap_members (
    guild_id, user_id, track, start_date, enrolled_at, current_streak, best_streak,
    last_date, last_at, run_start, checkins_total, checkin_days, minutes_total
)
SELECT 1, 10000 + i, CASE i % 2 WHEN 0 THEN 'ai_engineer' ELSE 'ml_engineer' END,
       '2025-09-01', '2025-09-01 00:00:00', 40, 40, '2025-10-10', '2025-10-10 18:00:00',
       '2025-09-01', 40, 40, 1200
FROM n;

WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 1999999)
INSERT INTO roadmap_checkins (guild_id, user_id, created_at, local_date, weekly_goal, minutes, did)
SELECT 1, 10000 + i % 50000,
       datetime('2025-09-01 18:00:00', '+' || (i / 50000) || ' days'),
       date('2025-09-01', '+' || (i / 50000) || ' days'), 7, 30, 'worked on the roadmap'
FROM n;
