"""``graphc_main``'s control flow: how ``render`` prints the plan's ``Loop``, ``Cond``, ``Move``
and ``Tape`` records (the kernels' calls are ``lower._Render``'s). Decides nothing (plan.py and
nested.py do); a mixin of ``lower._Render``, whose ``program``, ``pointer`` and ``in_function``
it calls.

A ``Tape``'s stack: a heap block grown by ``realloc`` to twice its size (16 records first) when
full, its pointer in an ``alloca`` that is null from the entry on, so the out-of-memory exit of
the function holding it frees every stack still held and returns 1; a checkpointed reverse
function returns that status to its caller, which leaves through its own exit (``graphc_main``
returns 1; the entry raises MemoryError).
"""

from __future__ import annotations

from .irtext import Func
from .records import Cond, Loop, Move, Tape

OOM = "oom"
FIRST_RECORDS = 16


class FlowRender:
    """Needs ``self.main`` (the Func), ``self.program(program, base)`` and ``self.pointer``."""

    def flow_init(self) -> None:
        self.index: dict = {}  # loop index name -> its SSA value in the current iteration
        #: function name -> the stack allocas its out-of-memory exit frees (a function is here
        #: once it can run out of memory: a growing Tape, or a call that can)
        self.exits: dict = {}
        self.revolves = 0  # checkpointed reverse functions emitted
        self.flows = {Loop: self.loop, Cond: self.cond, Move: self.move, Tape: self.tape}

    def flow(self, step, base: int) -> bool:
        """Render ``step`` if it is a control-flow record; False for a kernel."""
        render = self.flows.get(type(step))
        if render is None:
            return False
        render(step, base)
        return True

    def loop(self, step: Loop, base: int, before=None) -> None:
        """A counted loop, a while loop (``cond``), or a Tape's backward loop (``before`` runs
        first in each iteration; it may end the loop by branching to the label it is given)."""
        m, at = self.main, base + step.offset
        if step.count is not None:
            if step.count <= 0:
                return
            lp = m.loop_begin(step.count, stem="G")
            if step.index is not None:
                self.index[step.index] = (
                    m.op(f"sub nuw nsw i64 {step.count - 1}, {lp.index}") if step.reverse
                    else lp.index)
            self.program(step.body, at)
            self.move(Move(step.moves), base)
            m.loop_end(lp)
            self.index.pop(step.index, None)  # its phi does not dominate what follows
            return
        def test():  # the condition program, or none: a Tape's backward loop (``before`` ends it)
            if step.cond is None:
                return "true"
            self.program(step.cond, at)
            flag = m.op(f"load i8, ptr {self.pointer(step.pred, base)}, align 1")
            return m.op(f"icmp ne i8 {flag}, 0")

        with m.repeat_while(test) as done:
            if before is not None:
                before(done)
            self.program(step.body, at)
            self.move(Move(step.moves), base)

    def cond(self, step: Cond, base: int) -> None:
        m = self.main
        flag = m.op(f"load i8, ptr {self.pointer(step.pred, base)}, align 1")
        yes, no, done = m.fresh("C"), m.fresh("Ce"), m.fresh("Cx")
        m.branch(m.op(f"icmp ne i8 {flag}, 0"), yes, no)
        for label, body in ((yes, step.then), (no, step.orelse)):
            m.start_block(label)
            self.program(body, base + step.offset)
            m.jump(done)
        m.start_block(done)

    def move(self, step: Move, base: int) -> None:
        for src, dst in step.pairs:
            if dst.nbytes:
                self._copy(self.pointer(dst, base), None if src is None else
                           self.pointer(src, base), dst.nbytes)

    def _copy(self, dst: str, src: str | None, nbytes) -> None:
        if src is None:
            self.main.do(f"call void @llvm.memset.p0.i64(ptr {dst}, i8 0, i64 {nbytes}, i1 false)")
        else:
            self.main.do(f"call void @llvm.memcpy.p0.p0.i64(ptr {dst}, ptr {src}, i64 {nbytes}, "
                         "i1 false)")

    def tape(self, step: Tape, base: int) -> None:
        if step.checkpoints is not None:
            self.revolve(step, base)
            return
        m = self.main
        stack = m.alloca("ptr", 8, init="null")
        count, cap = m.alloca("i64", 8), m.alloca("i64", 8)
        rec = sum(b.nbytes for b in step.saved)
        if rec:
            self.exits.setdefault(m.name, []).append(stack)
        m.do(f"store i64 0, ptr {count}, align 8")
        m.do(f"store i64 0, ptr {cap}, align 8")

        def push(_done):
            n = m.op(f"load i64, ptr {count}, align 8")
            if rec:
                self._grow(stack, cap, n, rec)
                self._records(step.saved, stack, n, rec, base, save=True)
            m.do(f"store i64 {m.op(f'add nuw i64 {n}, 1')}, ptr {count}, align 8")

        def pop(done):
            n = m.op(f"load i64, ptr {count}, align 8")
            more = m.fresh("Wp")
            m.branch(m.op(f"icmp eq i64 {n}, 0"), done, more)
            m.start_block(more)
            k = m.op(f"sub nuw i64 {n}, 1")
            m.do(f"store i64 {k}, ptr {count}, align 8")
            self._records(step.saved, stack, k, rec, base, save=False)

        self.loop(step.forward, base, before=push)
        self.loop(step.backward, base, before=pop)
        m.do(f"call void @graphc_rt_stack_free(ptr {m.op(f'load ptr, ptr {stack}, align 8')})")
        m.do(f"store ptr null, ptr {stack}, align 8")

    def _grow(self, stack: str, cap: str, n: str, rec: int) -> None:
        """Double the stack (to ``FIRST_RECORDS`` records first) when it holds ``cap`` records."""
        m = self.main
        c = m.op(f"load i64, ptr {cap}, align 8")
        with m.when(m.op(f"icmp eq i64 {n}, {c}"), stem="Wg"):
            twice = m.op(f"shl nuw i64 {c}, 1")
            new_cap = m.op(f"select i1 {m.op(f'icmp eq i64 {c}, 0')}, i64 {FIRST_RECORDS}, "
                           f"i64 {twice}")
            old = m.op(f"load ptr, ptr {stack}, align 8")
            size = m.op(f"mul nuw i64 {new_cap}, {rec}")
            new = m.op(f"call ptr @graphc_rt_realloc(ptr {old}, i64 {size})")
            ok = m.fresh("Wok")
            m.branch(m.op(f"icmp eq ptr {new}, null"), self.oom_exit(), ok)
            m.start_block(ok)
            m.do(f"store ptr {new}, ptr {stack}, align 8")
            m.do(f"store i64 {new_cap}, ptr {cap}, align 8")

    def _records(self, saved, stack: str, k: str, rec: int, base: int, save: bool) -> None:
        """Copy the ``saved`` buffers into record ``k`` of the stack, or back out of it."""
        m = self.main
        self._record(saved, m.gep("i8", m.op(f"load ptr, ptr {stack}, align 8"), m.mul(k, rec)),
                     base, save)

    def _record(self, saved, at: str, base: int, save: bool) -> None:
        """Copy the ``saved`` buffers to the bytes at ``at``, or back from them."""
        off = 0
        for b in saved:
            slot, buf = self.main.gep("i8", at, str(off)), self.pointer(b, base)
            self._copy(slot, buf, b.nbytes) if save else self._copy(buf, slot, b.nbytes)
            off += b.nbytes

    def oom_exit(self) -> str:
        """The label of the current function's out-of-memory exit (made at its end)."""
        self.exits.setdefault(self.main.name, [])
        return OOM

    def finish(self, f=None) -> None:
        """End ``f`` (``graphc_main`` by default) returning 0; then its out-of-memory exit, when
        it has one: free the stacks still held, return 1."""
        f = f or self.main
        f.ret("0")
        stacks = self.exits.get(f.name)
        if stacks is not None:
            f.start_block(OOM)
            for s in stacks:
                f.do(f"call void @graphc_rt_stack_free(ptr {f.op(f'load ptr, ptr {s}, align 8')})")
            f.ret("1")

    def call_checked(self, name: str, args: str) -> None:
        """Call a function returning a status, leaving through the out-of-memory exit on 1."""
        m = self.main
        status = m.op(f"call i32 @{name}({args})")
        ok = m.fresh("Rok")
        m.branch(m.op(f"icmp ne i32 {status}, 0"), self.oom_exit(), ok)
        m.start_block(ok)

    # --- binomial checkpointing ---------------------------------------------------------------
    def revolve(self, step: Tape, base: int) -> None:
        """Save the initial carry in the last slot, count the steps (a forward sweep saving
        nothing), then reverse them with ``revolve_fn`` (ops.control.reverse_loop's algorithm:
        at most ``checkpoints`` carries, about ``(t + 1) n`` forward steps)."""
        m = self.main
        rec, k = sum(b.nbytes for b in step.state), step.checkpoints
        top = m.gep("i8", self.pointer(step.slots, base), str((k - 1) * rec))
        self._record(step.state, top, base, save=True)
        count = m.alloca("i64", 8)
        m.do(f"store i64 0, ptr {count}, align 8")

        def tally(_done):
            n = m.op(f"load i64, ptr {count}, align 8")
            m.do(f"store i64 {m.op(f'add nuw i64 {n}, 1')}, ptr {count}, align 8")

        self.loop(step.forward, base, before=tally)
        n = m.op(f"load i64, ptr {count}, align 8")
        name, extra = self.revolve_fn(step, base)
        self.call_checked(name, f"ptr %args, i64 0, i64 {n}, i64 {k - 1}, ptr {top}{extra}")

    def revolve_fn(self, step: Tape, base: int) -> tuple[str, str]:
        """``reverse(args, first, last, slots, carry)``: reverse steps ``[first, last)`` from the
        carry at ``carry`` with ``slots`` free slots (recursive, depth <= slots); the enclosing
        loops' indices are passed on. Returns its name and the extra call arguments."""
        self.revolves += 1
        name = f"graphc_reverse{self.revolves}"
        names = sorted(self.index)
        params = ["ptr %args", "i64 %first", "i64 %last0", "i64 %slots", "ptr %carry"]
        f = Func(name, params + [f"i64 %ix{j}" for j in range(len(names))], attrs="nounwind",
                 ret="i32")
        extra = "".join(f", i64 {self.index[n]}" for n in names)
        with self.in_function(f, {n: f"%ix{j}" for j, n in enumerate(names)}):
            self._revolve_body(f, name, step, base)
        self.module.functions.append(f.text())
        if SPLIT not in self.module.functions:  # once per module (nested functions come first)
            self.module.functions.append(SPLIT)
        return name, extra

    def _revolve_body(self, f: Func, name: str, step: Tape, base: int) -> None:
        rec = sum(b.nbytes for b in step.state)
        last = f.alloca("i64", 8)
        f.do(f"store i64 %last0, ptr {last}, align 8")
        f.jump("head")
        f.start_block("head")
        hi = f.op(f"load i64, ptr {last}, align 8")
        span = f.op(f"sub i64 {hi}, %first")
        deep = f.op(f"and i1 {f.op(f'icmp sgt i64 {span}, 1')}, {f.op('icmp sgt i64 %slots, 0')}")
        f.branch(deep, "split", "steps")
        f.start_block("split")
        mid = f.op(f"add i64 %first, {f.op(f'call i64 @graphc_binomial_split(i64 {span}, i64 %slots)')}")
        self._advance_from(step, f.op(f"sub i64 {mid}, %first"), base)
        lower = f.op("sub i64 %slots, 1")
        slot = f.gep("i8", self.pointer(step.slots, base), f.op(f"mul i64 {lower}, {rec}"))
        self._record(step.state, slot, base, save=True)
        args = "".join(f", i64 %ix{j}" for j in range(len(self.index)))
        self.call_checked(name, f"ptr %args, i64 {mid}, i64 {hi}, i64 {lower}, ptr {slot}{args}")
        f.do(f"store i64 {mid}, ptr {last}, align 8")
        f.jump("head")
        f.start_block("steps")  # no slot left (or one step): each step from the carry, last first
        i = f.alloca("i64", 8)
        f.do(f"store i64 {hi}, ptr {i}, align 8")

        def more():
            return f.op(f"icmp sgt i64 {f.op(f'load i64, ptr {i}, align 8')}, %first")

        with f.repeat_while(more, stem="down"):
            k = f.op(f"sub i64 {f.op(f'load i64, ptr {i}, align 8')}, 1")
            f.do(f"store i64 {k}, ptr {i}, align 8")
            self._advance_from(step, f.op(f"sub i64 {k}, %first"), base)
            self.program(step.backward.body, base)
            self.move(Move(step.backward.moves), base)
        self.finish(f)

    def _advance_from(self, step: Tape, steps: str, base: int) -> None:
        """The carry at ``%carry`` into the state buffers, then ``steps`` forward steps."""
        m = self.main
        self._record(step.state, "%carry", base, save=False)
        j = m.alloca("i64", 8)
        m.do(f"store i64 0, ptr {j}, align 8")

        def more():
            return m.op(f"icmp slt i64 {m.op(f'load i64, ptr {j}, align 8')}, {steps}")

        with m.repeat_while(more, stem="Ah"):
            self.program(step.forward.body, base)
            self.move(Move(step.forward.moves), base)
            now = m.op(f"load i64, ptr {j}, align 8")
            m.do(f"store i64 {m.op(f'add i64 {now}, 1')}, ptr {j}, align 8")


#: ``graphc_binomial_split(steps, slots)``: ``ops.control.binomial_split`` in doubles: the least
#: ``t`` with ``C(slots + t, t) >= steps`` (``C(s + t, t) = C(s + t - 1, t - 1) (s + t) / t``),
#: the right part ``C(slots + t - 1, t) = C(slots + t, t) slots / (slots + t)`` steps, and the
#: split ``max(1, steps - right)``.
SPLIT = """define internal i64 @graphc_binomial_split(i64 %n, i64 %s) nounwind {
entry:
  %sf = sitofp i64 %s to double
  %nf = sitofp i64 %n to double
  %c0 = fadd double %sf, 1.0
  br label %t
t:
  %ti = phi i64 [1, %entry], [%tn, %grow]
  %c = phi double [%c0, %entry], [%cn, %grow]
  %enough = fcmp oge double %c, %nf
  br i1 %enough, label %done, label %grow
grow:
  %tn = add i64 %ti, 1
  %tf = sitofp i64 %tn to double
  %st = fadd double %sf, %tf
  %num = fmul double %c, %st
  %cn = fdiv double %num, %tf
  br label %t
done:
  %tf1 = sitofp i64 %ti to double
  %st1 = fadd double %sf, %tf1
  %r0 = fmul double %c, %sf
  %r = fdiv double %r0, %st1
  %rr = fadd double %r, 5.000000e-01
  %ri = fptosi double %rr to i64
  %left = sub i64 %n, %ri
  %small = icmp slt i64 %left, 1
  %res = select i1 %small, i64 1, i64 %left
  ret i64 %res
}"""
