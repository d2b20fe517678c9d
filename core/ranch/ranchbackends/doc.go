// Package ranchbackends runs one ranch scenario, through the public API
// only, on every store backend: memstore, boltstore and dynamostore (on
// DynamoDB Local, started by dynamotest). It checks that the ranch's
// storage encoding (index, conditions, map updates, transactions) means the
// same on each engine, and holds the quality bar of quotas (64 clients of
// one owner through two Ranches on one store never hold more than the
// quota; the counter equals the holdings after the run and after reaping).
// It has no code of its own, only tests.
package ranchbackends
