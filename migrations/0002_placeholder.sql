-- Placeholder on feat/ops only: number 0002 belongs to another branch. Delete this file when merging.
SELECT 1;
