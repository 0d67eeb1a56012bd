// Build-time fuel instrumentation: rewrites a wasm module so every loop header
// decrements a fuel counter and, when it reaches zero, calls the guest's
// refill export (which asks the host: deadline, cancellation, budget).
//
//   usage: pycell-fuel IN.wasm OUT.wasm REFILL_EXPORT
//
// Loop headers only: a loop-free path is bounded by code size and call depth,
// and counting at every function entry too costs ~4x the overhead (measured on
// a prototype: ≈19 % vs ≈5 %). The counter is a new mutable i64 global named
// "pycell_fuel" (wasm2c makes it the instance field w2c_pycell_fuel); globals
// are appended, so no existing index moves, and the callee is an existing
// function, so no import is added and no function index moves either.
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "wabt/binary-reader-ir.h"
#include "wabt/binary-reader.h"
#include "wabt/binary-writer.h"
#include "wabt/cast.h"
#include "wabt/error-formatter.h"
#include "wabt/feature.h"
#include "wabt/ir.h"
#include "wabt/stream.h"
#include "wabt/validator.h"

using namespace wabt;

namespace {

struct Pass {
  Var fuel;
  Var refill;
  size_t loops = 0;

  // fuel -= 1; if (fuel <= 0) fuel = refill();
  ExprList check() const {
    ExprList l;
    l.push_back(std::make_unique<GlobalGetExpr>(fuel));
    l.push_back(std::make_unique<ConstExpr>(Const::I64(1)));
    l.push_back(std::make_unique<BinaryExpr>(Opcode::I64Sub));
    l.push_back(std::make_unique<GlobalSetExpr>(fuel));
    l.push_back(std::make_unique<GlobalGetExpr>(fuel));
    l.push_back(std::make_unique<ConstExpr>(Const::I64(0)));
    l.push_back(std::make_unique<CompareExpr>(Opcode::I64LeS));
    auto branch = std::make_unique<IfExpr>();
    branch->true_.exprs.push_back(std::make_unique<CallExpr>(refill));
    branch->true_.exprs.push_back(std::make_unique<GlobalSetExpr>(fuel));
    l.push_back(std::move(branch));
    return l;
  }

  void walk(ExprList& exprs) {
    for (Expr& e : exprs) {
      switch (e.type()) {
        case ExprType::Loop: {
          auto& loop = cast<LoopExpr>(&e)->block;
          walk(loop.exprs);
          ExprList head = check();
          loop.exprs.splice(loop.exprs.begin(), head);
          ++loops;
          break;
        }
        case ExprType::Block: walk(cast<BlockExpr>(&e)->block.exprs); break;
        case ExprType::If: {
          auto* i = cast<IfExpr>(&e);
          walk(i->true_.exprs);
          walk(i->false_);
          break;
        }
        case ExprType::Try: {
          auto* t = cast<TryExpr>(&e);
          walk(t->block.exprs);
          for (Catch& c : t->catches) walk(c.exprs);
          break;
        }
        default: break;
      }
    }
  }
};

int fail(const std::string& msg) {
  std::fprintf(stderr, "pycell-fuel: %s\n", msg.c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) return fail("usage: pycell-fuel IN.wasm OUT.wasm REFILL_EXPORT");
  std::vector<uint8_t> data;
  if (Failed(ReadFile(argv[1], &data))) return fail(std::string("cannot read ") + argv[1]);

  Features features;
  Errors errors;
  Module module;
  ReadBinaryOptions read_opts(features, nullptr, /*read_debug_names=*/true,
                              /*stop_on_first_error=*/true, /*fail_on_custom_section_error=*/false);
  if (Failed(ReadBinaryIr(argv[1], data.data(), data.size(), read_opts, &errors, &module))) {
    FormatErrorsToFile(errors, Location::Type::Binary);
    return fail("cannot parse the module");
  }

  const Export* refill_export = module.GetExport(argv[3]);
  if (!refill_export || refill_export->kind != ExternalKind::Func) {
    return fail(std::string("no exported function ") + argv[3]);
  }
  const Index refill_index = module.GetFuncIndex(refill_export->var);
  const Func* refill_func = module.GetFunc(refill_export->var);
  if (!refill_func || refill_func->GetNumParams() != 0 || refill_func->GetNumResults() != 1 ||
      refill_func->GetResultType(0) != Type::I64) {
    return fail(std::string(argv[3]) + " must have type () -> i64");
  }

  auto field = std::make_unique<GlobalModuleField>(Location(), "$pycell_fuel");
  field->global.type = Type::I64;
  field->global.mutable_ = true;
  field->global.init_expr.push_back(std::make_unique<ConstExpr>(Const::I64(0)));
  module.AppendField(std::move(field));

  Pass pass{Var(static_cast<Index>(module.globals.size() - 1), Location()), Var(refill_index, Location())};
  for (Index i = module.num_func_imports; i < module.funcs.size(); ++i) {
    // The refill path itself must not count fuel (it runs when there is none).
    if (i == refill_index) continue;
    pass.walk(module.funcs[i]->exprs);
  }

  ValidateOptions validate_opts(features);
  if (Failed(ValidateModule(&module, &errors, validate_opts))) {
    FormatErrorsToFile(errors, Location::Type::Binary);
    return fail("instrumented module does not validate");
  }
  MemoryStream stream;
  WriteBinaryOptions write_opts(features, /*canonicalize_lebs=*/true, /*relocatable=*/false,
                                /*write_debug_names=*/true);
  if (Failed(WriteBinaryModule(&stream, &module, write_opts)) ||
      Failed(stream.output_buffer().WriteToFile(argv[2]))) {
    return fail(std::string("cannot write ") + argv[2]);
  }
  std::fprintf(stderr, "pycell-fuel: instrumented %zu loops\n", pass.loops);
  return 0;
}
