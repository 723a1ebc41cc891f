// `smsconsent user add|list|set|remove`: staff users of the web page. Passwords come from
// stdin (--password-stdin) or are generated and printed once; only their Argon2id hash is
// stored.
#include "cli/user_commands.h"

#include <iomanip>
#include <iostream>
#include <memory>
#include <optional>

#include <nlohmann/json.hpp>

#include "app/json_views.h"
#include "app/staff_auth.h"
#include "cli/output.h"
#include "cli/session.h"

namespace smsconsent::cli {
namespace {

using nlohmann::json;

struct UserArgs {
  int64_t account = 0;
  std::string email;
  std::string name;
  std::string role;
  bool password_stdin = false;
};

// The first line of stdin, without its line break.
Result<std::string> ReadPassword() {
  std::string line;
  if (!std::getline(std::cin, line)) {
    return InvalidArgument("--password-stdin: no password on standard input");
  }
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

// Runs `fn` with the StaffAuth over the --db store.
template <typename Fn>
int WithAuth(const std::string& db, Fn fn) {
  auto s = OpenSession(db);
  if (!s.ok()) return Output::Fail(s.status());
  StaffAuth auth(*(*s)->store, (*s)->clock);
  return fn(auth);
}

}  // namespace

void AddUserCommands(CLI::App& cli, const std::string& db, const bool& json_out,
                     std::function<int()>& run) {
  auto args = std::make_shared<UserArgs>();
  auto* user = cli.add_subcommand("user", "staff users who sign in to the web page");
  user->require_subcommand(1);

  auto* add = user->add_subcommand(
      "add", "add a user; without --password-stdin a strong password is generated and shown once");
  add->add_option("--account", args->account, "account id")->required();
  add->add_option("--email", args->email, "email (unique across the server)")->required();
  add->add_option("--name", args->name, "the user's name");
  add->add_option("--role", args->role, "viewer (reads only) or editor")->required();
  add->add_flag("--password-stdin", args->password_stdin,
                "read the password from the first line of standard input");
  add->callback([&run, &db, &json_out, args] {
    run = [&db, &json_out, args]() -> int {
      auto role = ParseStaffRole(args->role);
      if (!role.ok()) return Output::Fail(role.status());
      NewUser u;
      u.account_id = args->account;
      u.email = args->email;
      u.name = args->name;
      u.role = *role;
      const bool generated = !args->password_stdin;
      if (generated) {
        u.password = GeneratePassword();
      } else {
        auto password = ReadPassword();
        if (!password.ok()) return Output::Fail(password.status());
        u.password = *password;
      }
      return WithAuth(db, [&](StaffAuth& auth) {
        auto created = auth.AddUser(u);
        if (!created.ok()) return Output::Fail(created.status());
        json doc = ToJson(*created);
        if (generated) doc["password"] = u.password;
        return Output{json_out}.Print(doc, [&](std::ostream& os) {
          os << "user " << created->id << ": " << created->email << " ("
             << StaffRoleName(created->role) << ") added to account " << created->account_id
             << "\n";
          if (generated) os << "  password: " << u.password << "  (shown once; store it now)\n";
        });
      });
    };
  });

  auto* list = user->add_subcommand("list", "the account's users");
  list->add_option("--account", args->account, "account id")->required();
  list->callback([&run, &db, &json_out, args] {
    run = [&db, &json_out, args]() -> int {
      return WithAuth(db, [&](StaffAuth& auth) {
        auto users = auth.ListUsers(args->account);
        if (!users.ok()) return Output::Fail(users.status());
        json doc = json::array();
        for (const User& u : *users) doc.push_back(ToJson(u));
        return Output{json_out}.Print(doc, [&](std::ostream& os) {
          if (users->empty()) os << "no users\n";
          for (const User& u : *users) {
            os << std::setw(4) << u.id << "  " << u.email << "  " << StaffRoleName(u.role)
               << (u.name.empty() ? "" : "  " + u.name) << "\n";
          }
        });
      });
    };
  });

  auto* set = user->add_subcommand(
      "set", "change a user's role, name or password (a new password signs the user out)");
  set->add_option("--email", args->email, "the user's email")->required();
  auto* set_role = set->add_option("--role", args->role, "viewer or editor");
  auto* set_name = set->add_option("--name", args->name, "the user's name");
  set->add_flag("--password-stdin", args->password_stdin,
                "read the new password from the first line of standard input");
  set->callback([&run, &db, &json_out, args, set_role, set_name] {
    const bool has_role = set_role->count() > 0, has_name = set_name->count() > 0;
    run = [&db, &json_out, args, has_role, has_name]() -> int {
      UserUpdate update;
      if (has_role) {
        auto role = ParseStaffRole(args->role);
        if (!role.ok()) return Output::Fail(role.status());
        update.role = *role;
      }
      if (has_name) update.name = args->name;
      if (args->password_stdin) {
        auto password = ReadPassword();
        if (!password.ok()) return Output::Fail(password.status());
        update.password = *password;
      }
      if (!update.role && !update.name && !update.password) {
        return Output::Fail(
            InvalidArgument("nothing to change: give --role, --name or --password-stdin"));
      }
      return WithAuth(db, [&](StaffAuth& auth) {
        int64_t ended = 0;
        auto updated = auth.UpdateUser(args->email, update, &ended);
        if (!updated.ok()) return Output::Fail(updated.status());
        json doc = ToJson(*updated);
        doc["sessions_ended"] = ended;
        return Output{json_out}.Print(doc, [&](std::ostream& os) {
          os << "user " << updated->email << " (" << StaffRoleName(updated->role) << ") updated";
          if (update.password) os << "; password changed, " << ended << " session(s) ended";
          os << "\n";
        });
      });
    };
  });

  auto* remove = user->add_subcommand("remove", "delete a user and end its sessions");
  remove->add_option("--email", args->email, "the user's email")->required();
  remove->callback([&run, &db, &json_out, args] {
    run = [&db, &json_out, args]() -> int {
      return WithAuth(db, [&](StaffAuth& auth) {
        Status st = auth.RemoveUser(args->email);
        if (!st.ok()) return Output::Fail(st);
        const std::string email = NormalizeEmail(args->email);
        return Output{json_out}.Print({{"removed", email}}, [&](std::ostream& os) {
          os << "user " << email << " removed\n";
        });
      });
    };
  });
}

}  // namespace smsconsent::cli
