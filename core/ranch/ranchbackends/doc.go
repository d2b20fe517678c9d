// Package ranchbackends runs one ranch scenario, through the public API
// only, on every store backend: memstore, boltstore and dynamostore (on
// DynamoDB Local, started by dynamotest). It checks that the ranch's
// storage encoding (index, conditions, map updates, transactions) means the
// same on each engine. It has no code of its own, only tests.
package ranchbackends
