"""``graphc_main``'s control flow: how ``render`` prints the plan's ``Loop``, ``Cond``, ``Move``
and ``Tape`` records (the kernels' calls are ``lower._Render``'s). Decides nothing (plan.py and
nested.py do); a mixin of ``lower._Render``, whose ``program`` and ``pointer`` it calls.

A ``Tape``'s stack: a heap block grown by ``realloc`` to twice its size (16 records first) when
full, its pointer in an ``alloca`` that is null from the entry on, so the out-of-memory exit
(``graphc_main`` returns 1; the entry raises MemoryError) frees every stack still held.
"""

from __future__ import annotations

from .records import Cond, Loop, Move, Tape

OOM = "oom"
FIRST_RECORDS = 16


class FlowRender:
    """Needs ``self.main`` (the Func), ``self.program(program, base)`` and ``self.pointer``."""

    def flow_init(self) -> None:
        self.index: dict = {}  # loop index name -> its SSA value in the current iteration
        self.stacks: list[str] = []  # the allocas holding Tape stacks
        self.uses_oom = False
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
            return
        head, body, done = m.fresh("Wh"), m.fresh("Wb"), m.fresh("Wx")
        m.jump(head)
        m.start_block(head)
        if step.cond is not None:
            self.program(step.cond, at)
            flag = m.op(f"load i8, ptr {self.pointer(step.pred, base)}, align 1")
            m.branch(m.op(f"icmp ne i8 {flag}, 0"), body, done)
            m.start_block(body)
        if before is not None:
            before(done)
        self.program(step.body, at)
        self.move(Move(step.moves), base)
        m.jump(head)
        m.start_block(done)

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
        m = self.main
        stack = m.alloca("ptr", 8, init="null")
        count, cap = m.alloca("i64", 8), m.alloca("i64", 8)
        self.stacks.append(stack)
        rec = sum(b.nbytes for b in step.saved)
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
            m.branch(m.op(f"icmp eq ptr {new}, null"), OOM, ok)
            m.start_block(ok)
            m.do(f"store ptr {new}, ptr {stack}, align 8")
            m.do(f"store i64 {new_cap}, ptr {cap}, align 8")
        self.uses_oom = True

    def _records(self, saved, stack: str, k: str, rec: int, base: int, save: bool) -> None:
        """Copy the ``saved`` buffers into record ``k`` of the stack, or back out of it."""
        m = self.main
        at = m.gep("i8", m.op(f"load ptr, ptr {stack}, align 8"), m.mul(k, rec))
        off = 0
        for b in saved:
            slot, buf = m.gep("i8", at, str(off)), self.pointer(b, base)
            self._copy(slot, buf, b.nbytes) if save else self._copy(buf, slot, b.nbytes)
            off += b.nbytes

    def finish(self) -> None:
        """Return 0; then the out-of-memory exit, when a Tape can grow."""
        m = self.main
        m.ret("0")
        if self.uses_oom:
            m.start_block(OOM)
            for s in self.stacks:
                m.do(f"call void @graphc_rt_stack_free(ptr {m.op(f'load ptr, ptr {s}, align 8')})")
            m.ret("1")
