package dynamostore

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/boskos-serverless/boskos/core/store"
)

type av = types.AttributeValue

func sv(s string) *types.AttributeValueMemberS { return &types.AttributeValueMemberS{Value: s} }
func nv(n int64) *types.AttributeValueMemberN {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(n, 10)}
}

func mv(m map[string]string) *types.AttributeValueMemberM {
	out := make(map[string]av, len(m))
	for k, v := range m {
		out[k] = sv(v)
	}
	return &types.AttributeValueMemberM{Value: out}
}

// keyAttrs returns the primary key of key.
func keyAttrs(key string) (map[string]av, error) {
	ns, rest, err := store.SplitKey(key)
	if err != nil {
		return nil, err
	}
	return map[string]av{AttrPK: sv(ns), AttrSK: sv(rest)}, nil
}

// escape is the prefix that storedName puts before item attribute names
// that would collide with the table's own attributes.
const escape = "~"

// storedName returns the DynamoDB attribute name of the item attribute n:
// n itself, except for names of the table's own attributes (pk, sk, v,
// ixsk) and names that start with the escape "~", which get one more "~".
// So every name the contract allows can be stored.
func storedName(n string) string {
	switch {
	case n == AttrPK, n == AttrSK, n == AttrVersion, n == AttrIndexSortKey, strings.HasPrefix(n, escape):
		return escape + n
	}
	return n
}

// userName is the inverse of storedName.
func userName(stored string) string { return strings.TrimPrefix(stored, escape) }

// indexSortKey is the value of AttrIndexSortKey for an item with sort
// value ixs: items with equal sort values are ordered by key.
func indexSortKey(ixs, key string) string { return ixs + "\x00" + key }

// checkName validates an item attribute name. Names are written with
// expression.NameNoDotSplit, which still reads "[...]" as a list index, so
// brackets are refused rather than misread.
func checkName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("empty attribute name")
	case strings.ContainsAny(name, "[]"):
		return fmt.Errorf("attribute name %q must not contain '[' or ']'", name)
	}
	return nil
}

// checkMapKey validates a key inside a map attribute: any non-empty string
// (DynamoDB refuses empty attribute names).
func checkMapKey(attr, k string) error {
	if k == "" {
		return fmt.Errorf("map attribute %q: empty key", attr)
	}
	return nil
}

// checkNotIndex refuses non-string values for the index key attributes
// (DynamoDB would refuse the write).
func checkNotIndex(kind, name string) error {
	if name == AttrIndexPartition || name == AttrIndexSort {
		return fmt.Errorf("index attribute %q must be a string, not a %s", name, kind)
	}
	return nil
}

// encodeItem returns the DynamoDB item for it with the given version.
func encodeItem(it store.Item, version int64) (map[string]av, error) {
	out, err := keyAttrs(it.Key)
	if err != nil {
		return nil, err
	}
	out[AttrVersion] = nv(version)
	seen := make(map[string]bool, len(it.Str)+len(it.Num)+len(it.Map))
	add := func(name string) error {
		if err := checkName(name); err != nil {
			return err
		}
		if seen[name] {
			return fmt.Errorf("attribute %q appears in more than one of Str, Num, Map", name)
		}
		seen[name] = true
		return nil
	}
	for k, v := range it.Str {
		if err := add(k); err != nil {
			return nil, err
		}
		if v != "" {
			out[storedName(k)] = sv(v)
		}
	}
	for k, v := range it.Num {
		if err := add(k); err != nil {
			return nil, err
		}
		if err := checkNotIndex("number", k); err != nil {
			return nil, err
		}
		out[storedName(k)] = nv(v)
	}
	for k, m := range it.Map {
		if err := add(k); err != nil {
			return nil, err
		}
		if err := checkNotIndex("map", k); err != nil {
			return nil, err
		}
		for mk := range m {
			if err := checkMapKey(k, mk); err != nil {
				return nil, err
			}
		}
		out[storedName(k)] = mv(m)
	}
	if ixs := it.Str[AttrIndexSort]; ixs != "" {
		out[AttrIndexSortKey] = sv(indexSortKey(ixs, it.Key))
	}
	return out, nil
}

// decodeItem is the inverse of encodeItem. Kinds without attributes are nil;
// an empty map attribute is an empty, non-nil map.
func decodeItem(m map[string]av) (store.Item, error) {
	var it store.Item
	pk, ok1 := m[AttrPK].(*types.AttributeValueMemberS)
	sk, ok2 := m[AttrSK].(*types.AttributeValueMemberS)
	if !ok1 || !ok2 {
		return it, fmt.Errorf("item without string %s and %s", AttrPK, AttrSK)
	}
	it.Key = pk.Value + "/" + sk.Value
	for stored, v := range m {
		name := userName(stored)
		switch stored {
		case AttrPK, AttrSK, AttrIndexSortKey:
			continue
		case AttrVersion:
			n, ok := v.(*types.AttributeValueMemberN)
			if !ok {
				return it, fmt.Errorf("item %s: version is not a number", it.Key)
			}
			ver, err := strconv.ParseInt(n.Value, 10, 64)
			if err != nil {
				return it, fmt.Errorf("item %s: version: %w", it.Key, err)
			}
			it.Version = ver
			continue
		}
		switch v := v.(type) {
		case *types.AttributeValueMemberS:
			if it.Str == nil {
				it.Str = map[string]string{}
			}
			it.Str[name] = v.Value
		case *types.AttributeValueMemberN:
			n, err := strconv.ParseInt(v.Value, 10, 64)
			if err != nil {
				return it, fmt.Errorf("item %s: attribute %s: %w", it.Key, name, err)
			}
			if it.Num == nil {
				it.Num = map[string]int64{}
			}
			it.Num[name] = n
		case *types.AttributeValueMemberM:
			mm := make(map[string]string, len(v.Value))
			for k, e := range v.Value {
				s, ok := e.(*types.AttributeValueMemberS)
				if !ok {
					return it, fmt.Errorf("item %s: map %s: value of %q is not a string", it.Key, name, k)
				}
				mm[k] = s.Value
			}
			if it.Map == nil {
				it.Map = map[string]map[string]string{}
			}
			it.Map[name] = mm
		default:
			return it, fmt.Errorf("item %s: attribute %s has an unsupported type %T", it.Key, name, v)
		}
	}
	return it, nil
}

// DecodeImage decodes a table item as DynamoDB returns it (a stream
// record's image included) into the store item it holds.
func DecodeImage(m map[string]types.AttributeValue) (store.Item, error) { return decodeItem(m) }

// ChangeOf is the store.Change of a stream record of this package's table:
// its old and new images (empty: absent) and when DynamoDB saw it.
func ChangeOf(oldImage, newImage map[string]types.AttributeValue, at time.Time) (store.Change, error) {
	c := store.Change{At: at}
	for _, x := range []struct {
		m   map[string]types.AttributeValue
		dst **store.Item
	}{{oldImage, &c.Old}, {newImage, &c.New}} {
		if len(x.m) == 0 {
			continue
		}
		it, err := decodeItem(x.m)
		if err != nil {
			return store.Change{}, fmt.Errorf("dynamostore: stream image: %w", err)
		}
		*x.dst = &it
	}
	return c, nil
}

// decodeOld decodes the item returned with a failed condition; ok is false
// when there was none (the item did not exist).
func decodeOld(m map[string]av) (store.Item, bool, error) {
	if len(m) == 0 {
		return store.Item{}, false, nil
	}
	it, err := decodeItem(m)
	return it, err == nil, err
}

// encodeCursor returns the opaque cursor for a LastEvaluatedKey, whose
// attributes are all strings in this table.
func encodeCursor(lek map[string]av) (string, error) {
	flat := make(map[string]string, len(lek))
	for k, v := range lek {
		s, ok := v.(*types.AttributeValueMemberS)
		if !ok {
			return "", fmt.Errorf("last evaluated key attribute %s is not a string", k)
		}
		flat[k] = s.Value
	}
	b, err := json.Marshal(flat)
	if err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// decodeCursor is the inverse of encodeCursor. It checks that the cursor has
// exactly the attributes names and that fixed holds (attribute -> value).
func decodeCursor(cursor string, names []string, fixed map[string]string) (map[string]av, error) {
	b, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil {
		return nil, fmt.Errorf("invalid cursor")
	}
	var flat map[string]string
	if err := json.Unmarshal(b, &flat); err != nil || len(flat) != len(names) {
		return nil, fmt.Errorf("invalid cursor")
	}
	out := make(map[string]av, len(flat))
	for _, n := range names {
		v, ok := flat[n]
		if !ok || v == "" {
			return nil, fmt.Errorf("invalid cursor")
		}
		out[n] = sv(v)
	}
	for k, want := range fixed {
		if flat[k] != want {
			return nil, fmt.Errorf("cursor belongs to another listing")
		}
	}
	return out, nil
}

// itemCursorKey returns the start key of the page after item it: the table
// key, plus the index key when the listing reads IndexPool.
func itemCursorKey(it store.Item, index bool) (map[string]av, error) {
	k, err := keyAttrs(it.Key)
	if err != nil {
		return nil, err
	}
	if index {
		k[AttrIndexPartition] = sv(it.Str[AttrIndexPartition])
		k[AttrIndexSortKey] = sv(indexSortKey(it.Str[AttrIndexSort], it.Key))
	}
	return k, nil
}

// sortedKeys returns the keys of m in ascending order, so that generated
// expressions are deterministic.
func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
