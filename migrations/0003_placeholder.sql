-- Placeholder on feat/ops only: number 0003 belongs to another branch. Delete this file when merging.
SELECT 1;
