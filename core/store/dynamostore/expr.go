package dynamostore

import (
	"fmt"
	"maps"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"

	"github.com/boskos-serverless/boskos/core/store"
)

// maxInOperands is DynamoDB's limit on the operands of one IN.
const maxInOperands = 100

// name is an item attribute name as one path element (never split on dots).
func name(n string) expression.NameBuilder { return expression.NameNoDotSplit(storedName(n)) }

// tableName is one of the table's own attributes (pk, sk, v, ixsk).
func tableName(n string) expression.NameBuilder { return expression.NameNoDotSplit(n) }

// condition returns the DynamoDB form of c, with the semantics of
// store.Cond.Holds. always is true when c holds for every item (no
// condition is needed).
func condition(c store.Cond) (cb expression.ConditionBuilder, always bool, err error) {
	if c.Op != store.OpVersion {
		if err := checkName(c.Attr); err != nil {
			return cb, false, fmt.Errorf("condition: %w", err)
		}
	}
	a := name(c.Attr)
	switch c.Op {
	case store.OpEq:
		if c.Value == "" {
			return expression.AttributeNotExists(a), false, nil
		}
		return a.Equal(expression.Value(c.Value)), false, nil
	case store.OpNotIn:
		// "" is never stored, so it cannot match a present attribute.
		var vals []expression.OperandBuilder
		for _, v := range c.Values {
			if v != "" {
				vals = append(vals, expression.Value(v))
			}
		}
		if len(vals) == 0 {
			return cb, true, nil
		}
		var parts []expression.ConditionBuilder
		for len(vals) > 0 {
			n := min(len(vals), maxInOperands)
			parts = append(parts, expression.Not(a.In(vals[0], vals[1:n]...)))
			vals = vals[n:]
		}
		notIn, _ := andAll(parts)
		return expression.AttributeNotExists(a).Or(notIn), false, nil
	case store.OpNumEq:
		eq := a.Equal(expression.Value(c.N))
		if c.N == 0 {
			return expression.AttributeNotExists(a).Or(eq), false, nil
		}
		return eq, false, nil
	case store.OpNumLt:
		lt := a.LessThan(expression.Value(c.N))
		if c.N > 0 {
			return expression.AttributeNotExists(a).Or(lt), false, nil
		}
		return lt, false, nil
	case store.OpNumGE:
		ge := a.GreaterThanEqual(expression.Value(c.N))
		if c.N <= 0 {
			return expression.AttributeNotExists(a).Or(ge), false, nil
		}
		return ge, false, nil
	case store.OpStrLE:
		if c.Value == "" {
			// Only present, non-empty strings exist: none is <= "".
			return expression.AttributeExists(a).And(expression.AttributeNotExists(a)), false, nil
		}
		// A comparison with a missing attribute is false: presence is implied.
		return a.LessThanEqual(expression.Value(c.Value)), false, nil
	case store.OpVersion:
		v := tableName(AttrVersion)
		eq := v.Equal(expression.Value(c.N))
		if c.N == 0 {
			return expression.AttributeNotExists(v).Or(eq), false, nil
		}
		return eq, false, nil
	}
	return cb, false, fmt.Errorf("condition: unknown operator %d", c.Op)
}

// andAll joins conditions with AND; ok is false when there are none.
func andAll(cs []expression.ConditionBuilder) (expression.ConditionBuilder, bool) {
	switch len(cs) {
	case 0:
		return expression.ConditionBuilder{}, false
	case 1:
		return cs[0], true
	}
	return expression.And(cs[0], cs[1], cs[2:]...), true
}

// conditions returns the conditions of a write: pre (existence checks)
// followed by conds.
func conditions(pre []expression.ConditionBuilder, conds []store.Cond) ([]expression.ConditionBuilder, error) {
	out := append([]expression.ConditionBuilder(nil), pre...)
	for _, c := range conds {
		cb, always, err := condition(c)
		if err != nil {
			return nil, err
		}
		if !always {
			out = append(out, cb)
		}
	}
	return out, nil
}

// exists is the condition "the item exists".
func exists() expression.ConditionBuilder { return expression.AttributeExists(tableName(AttrPK)) }

// built is a finished expression, ready for a request.
type built struct {
	cond   *string
	update *string
	names  map[string]string
	values map[string]av
}

// buildCond builds a condition-only expression (nil cond if cs is empty).
func buildCond(cs []expression.ConditionBuilder) (built, error) {
	cb, ok := andAll(cs)
	if !ok {
		return built{}, nil
	}
	e, err := expression.NewBuilder().WithCondition(cb).Build()
	if err != nil {
		return built{}, err
	}
	return built{cond: e.Condition(), names: e.Names(), values: e.Values()}, nil
}

// mapOps are the map-attribute changes that cannot be expressed by the
// expression builder: keys inside a map attribute.
type mapOps struct {
	set    map[string]map[string]string // attr -> key -> value
	remove map[string][]string          // attr -> keys
}

// updatePlan is an Update reduced to what DynamoDB can apply in one request.
type updatePlan struct {
	u store.Update
	// inPlace lists the map attributes changed key by key (MapSet/MapRemove
	// not subsumed by SetMap or Remove). Their presence decides the form.
	inPlace []string
}

// planUpdate validates u and normalizes the overlaps that DynamoDB refuses
// (two paths of one update may not overlap) into the equivalent whole-map
// writes, following store.Update.Apply.
func planUpdate(u store.Update) (updatePlan, error) {
	if _, _, err := store.SplitKey(u.Key); err != nil {
		return updatePlan{}, err
	}
	owner := map[string]string{}
	claim := func(kind, n string) error {
		if err := checkName(n); err != nil {
			return err
		}
		if prev, ok := owner[n]; ok {
			return fmt.Errorf("attribute %q appears in both %s and %s", n, prev, kind)
		}
		owner[n] = kind
		return nil
	}
	for _, n := range u.Remove {
		if prev, ok := owner[n]; ok && prev == "Remove" {
			continue // removing twice is harmless
		}
		if err := claim("Remove", n); err != nil {
			return updatePlan{}, err
		}
	}
	for n := range u.Set {
		if err := claim("Set", n); err != nil {
			return updatePlan{}, err
		}
	}
	for n := range u.SetNum {
		if err := claim("SetNum", n); err != nil {
			return updatePlan{}, err
		}
		if err := checkNotIndex("number", n); err != nil {
			return updatePlan{}, err
		}
	}
	for n := range u.AddNum {
		if err := claim("AddNum", n); err != nil {
			return updatePlan{}, err
		}
		if err := checkNotIndex("number", n); err != nil {
			return updatePlan{}, err
		}
	}
	for n, m := range u.SetMap {
		if err := claim("SetMap", n); err != nil {
			return updatePlan{}, err
		}
		if err := checkNotIndex("map", n); err != nil {
			return updatePlan{}, err
		}
		for k := range m {
			if err := checkMapKey(n, k); err != nil {
				return updatePlan{}, err
			}
		}
	}
	mapAttrs := map[string]bool{}
	for n, m := range u.MapSet {
		mapAttrs[n] = true
		for k := range m {
			if err := checkMapKey(n, k); err != nil {
				return updatePlan{}, err
			}
		}
	}
	for n, ks := range u.MapRemove {
		mapAttrs[n] = true
		for _, k := range ks {
			if err := checkMapKey(n, k); err != nil {
				return updatePlan{}, err
			}
		}
	}
	p := updatePlan{u: u}
	p.u.SetMap = maps.Clone(u.SetMap)
	p.u.MapSet, p.u.MapRemove = nil, nil
	var removes []string
	for _, n := range sortedKeys(mapAttrs) {
		if err := checkName(n); err != nil {
			return updatePlan{}, err
		}
		if err := checkNotIndex("map", n); err != nil {
			return updatePlan{}, err
		}
		switch owner[n] {
		case "", "SetMap", "Remove":
		default:
			return updatePlan{}, fmt.Errorf("attribute %q appears in both %s and MapSet/MapRemove", n, owner[n])
		}
		_, hasSet := u.MapSet[n]
		switch owner[n] {
		case "SetMap":
			// Apply: SetMap, then MapSet and MapRemove on top of it.
			p.u.SetMap[n] = applyMapOps(u.SetMap[n], u.MapSet[n], u.MapRemove[n])
		case "Remove":
			// Apply: Remove, then MapSet creates a fresh map.
			if hasSet {
				if p.u.SetMap == nil {
					p.u.SetMap = map[string]map[string]string{}
				}
				p.u.SetMap[n] = applyMapOps(nil, u.MapSet[n], u.MapRemove[n])
				removes = append(removes, n)
			}
		default:
			p.inPlace = append(p.inPlace, n)
			if p.u.MapSet == nil {
				p.u.MapSet, p.u.MapRemove = map[string]map[string]string{}, map[string][]string{}
			}
			if hasSet {
				p.u.MapSet[n] = u.MapSet[n]
			}
			if ks, ok := u.MapRemove[n]; ok {
				p.u.MapRemove[n] = ks
			}
		}
	}
	if len(removes) > 0 {
		p.u.Remove = nil
		for _, n := range u.Remove {
			if !contains(removes, n) {
				p.u.Remove = append(p.u.Remove, n)
			}
		}
	}
	return p, nil
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// applyMapOps returns base with set applied, then remove.
func applyMapOps(base, set map[string]string, remove []string) map[string]string {
	out := make(map[string]string, len(base)+len(set))
	maps.Copy(out, base)
	maps.Copy(out, set)
	for _, k := range remove {
		delete(out, k)
	}
	return out
}

// absentMaps returns, for the plan's in-place map attributes, which are
// absent from cur.
func (p updatePlan) absentMaps(cur store.Item) map[string]bool {
	out := map[string]bool{}
	for _, n := range p.inPlace {
		if _, ok := cur.Map[n]; !ok {
			out[n] = true
		}
	}
	return out
}

// build returns the update and condition expressions of the plan, given
// which in-place map attributes are believed absent. The belief is part of
// the condition, so a wrong one fails the condition instead of the request.
func (p updatePlan) build(absent map[string]bool) (built, error) {
	u := p.u
	ver := tableName(AttrVersion)
	ub := expression.Set(ver, expression.Plus(expression.IfNotExists(ver, expression.Value(0)), expression.Value(1)))
	if !u.Upsert {
		ub = expression.Set(ver, ver.Plus(expression.Value(1)))
	}
	// The index sort key follows the index sort value.
	if v, ok := u.Set[AttrIndexSort]; ok && v != "" {
		ub = ub.Set(tableName(AttrIndexSortKey), expression.Value(indexSortKey(v, u.Key)))
	} else if ok || contains(u.Remove, AttrIndexSort) {
		ub = ub.Remove(tableName(AttrIndexSortKey))
	}
	for _, n := range u.Remove {
		ub = ub.Remove(name(n))
	}
	for _, n := range sortedKeys(u.Set) {
		if v := u.Set[n]; v == "" {
			ub = ub.Remove(name(n))
		} else {
			ub = ub.Set(name(n), expression.Value(v))
		}
	}
	for _, n := range sortedKeys(u.SetNum) {
		ub = ub.Set(name(n), expression.Value(u.SetNum[n]))
	}
	for _, n := range sortedKeys(u.AddNum) {
		ub = ub.Set(name(n), expression.Plus(expression.IfNotExists(name(n), expression.Value(0)), expression.Value(u.AddNum[n])))
	}
	for _, n := range sortedKeys(u.SetMap) {
		ub = ub.Set(name(n), expression.Value(mv(u.SetMap[n])))
	}
	var pre []expression.ConditionBuilder
	if !u.Upsert {
		pre = append(pre, exists())
	}
	// Map keys: by hand (see package comment).
	var sets, removes []string
	handNames := map[string]string{}
	handValues := map[string]av{}
	for i, n := range p.inPlace {
		if absent[n] {
			pre = append(pre, expression.AttributeNotExists(name(n)))
			if set, ok := u.MapSet[n]; ok {
				ub = ub.Set(name(n), expression.Value(mv(applyMapOps(nil, set, u.MapRemove[n]))))
			}
			continue
		}
		pre = append(pre, expression.AttributeExists(name(n)))
		attr := "#ma" + strconv.Itoa(i)
		handNames[attr] = storedName(n)
		removed := map[string]bool{}
		for j, k := range u.MapRemove[n] {
			if removed[k] {
				continue
			}
			removed[k] = true
			kn := "#mr" + strconv.Itoa(i) + "_" + strconv.Itoa(j)
			handNames[kn] = k
			removes = append(removes, attr+"."+kn)
		}
		for j, k := range sortedKeys(u.MapSet[n]) {
			if removed[k] {
				continue // Apply removes after setting: the key ends up absent.
			}
			kn := "#ms" + strconv.Itoa(i) + "_" + strconv.Itoa(j)
			vn := ":ms" + strconv.Itoa(i) + "_" + strconv.Itoa(j)
			handNames[kn] = k
			handValues[vn] = sv(u.MapSet[n][k])
			sets = append(sets, attr+"."+kn+" = "+vn)
		}
	}
	// Drop the attribute placeholders that no clause uses (DynamoDB refuses
	// unused names).
	for k := range handNames {
		if strings.HasPrefix(k, "#ma") && !usesPlaceholder(sets, removes, k) {
			delete(handNames, k)
		}
	}
	conds, err := conditions(pre, u.Cond)
	if err != nil {
		return built{}, err
	}
	b := expression.NewBuilder().WithUpdate(ub)
	if cb, ok := andAll(conds); ok {
		b = b.WithCondition(cb)
	}
	e, err := b.Build()
	if err != nil {
		return built{}, err
	}
	out := built{cond: e.Condition(), names: e.Names(), values: e.Values()}
	upd := mergeUpdate(*e.Update(), sets, removes)
	out.update = &upd
	if len(handNames) > 0 {
		if out.names == nil {
			out.names = map[string]string{}
		}
		maps.Copy(out.names, handNames)
	}
	if len(handValues) > 0 {
		if out.values == nil {
			out.values = map[string]av{}
		}
		maps.Copy(out.values, handValues)
	}
	return out, nil
}

func usesPlaceholder(sets, removes []string, ph string) bool {
	for _, s := range append(append([]string(nil), sets...), removes...) {
		if strings.HasPrefix(s, ph+".") {
			return true
		}
	}
	return false
}

// mergeUpdate adds hand-written SET and REMOVE clauses to an update
// expression produced by the builder, whose form is one line per action
// ("SET a, b\nREMOVE c\n"). The builder always emits a SET (the version).
func mergeUpdate(expr string, sets, removes []string) string {
	var lines []string
	hasRemove := false
	for _, line := range strings.Split(strings.TrimSpace(expr), "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "":
			continue
		case strings.HasPrefix(line, "SET ") && len(sets) > 0:
			line += ", " + strings.Join(sets, ", ")
			sets = nil
		case strings.HasPrefix(line, "REMOVE ") && len(removes) > 0:
			line += ", " + strings.Join(removes, ", ")
			hasRemove = true
		}
		lines = append(lines, line)
	}
	if len(sets) > 0 {
		lines = append(lines, "SET "+strings.Join(sets, ", "))
	}
	if len(removes) > 0 && !hasRemove {
		lines = append(lines, "REMOVE "+strings.Join(removes, ", "))
	}
	return strings.Join(lines, "\n")
}
