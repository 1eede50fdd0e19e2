#include "redaction.h"

#include <gtest/gtest.h>

namespace pycov {
namespace {

Identity Alice() { return {"/home/alice", "alice", "build-box-7"}; }

TEST(LooksSecretName, NamesThatSuggestSecrets) {
  for (const char* name : {"API_TOKEN", "--password", "aws_secret_access_key", "GH_AUTH", "db_passwd", "SESSION_ID",
                           "--api-key", "SENTRY_DSN"})
    EXPECT_TRUE(LooksSecretName(name)) << name;
  for (const char* name : {"PATH", "HOME", "LANG", "--verbose", "PWD", "PYTHONPATH"})
    EXPECT_FALSE(LooksSecretName(name)) << name;
}

TEST(Redactor, MasksSecretOptionValuesInBothSpellings) {
  Redactor redactor(Alice());
  std::vector<std::string> argv = {"app.py", "--password", "hunter2-long", "--token=t0k3n-value", "--verbose",
                                   "DB_PASSWORD=from-argv", "plain=value"};
  redactor.LearnArguments(argv);
  auto shown = redactor.RedactArguments(argv);
  EXPECT_EQ(shown, (std::vector<std::string>{"app.py", "--password", "[REDACTED]", "--token=[REDACTED]", "--verbose",
                                             "DB_PASSWORD=[REDACTED]", "plain=value"}));
  EXPECT_EQ(redactor.counts().argument_secrets, 3u);
  // The same values are masked wherever else they turn up, e.g. in a repr of the argv.
  EXPECT_EQ(redactor.Scrub("['--password', 'hunter2-long'] t0k3n-value from-argv"),
            "['--password', '[REDACTED]'] [REDACTED] [REDACTED]");
}

TEST(Redactor, MasksUrlCredentialsAndLearnsThePassword) {
  Redactor redactor(Alice());
  redactor.LearnArguments({"--index-url", "https://bob:pa55-w0rd@pypi.example.com/simple"});
  EXPECT_EQ(redactor.Scrub("fetch https://bob:pa55-w0rd@pypi.example.com/simple failed"),
            "fetch https://[REDACTED]@pypi.example.com/simple failed");
  EXPECT_EQ(redactor.Scrub("the password was pa55-w0rd"), "the password was [REDACTED]");
  EXPECT_EQ(redactor.Scrub("git+ssh://git@github.com/x/y"), "git+ssh://[REDACTED]@github.com/x/y");
}

TEST(Redactor, MasksTokenShapedStrings) {
  Redactor redactor(Alice());
  EXPECT_EQ(redactor.Scrub("token ghp_abcdefghijklmnopqrstuvwxyz0123 and AKIAABCDEFGHIJKLMNOP."),
            "token [REDACTED] and [REDACTED].");
  EXPECT_EQ(redactor.counts().token_shaped, 2u);
}

TEST(Redactor, ReplacesHomeUserAndHostConsistently) {
  Redactor redactor(Alice());
  EXPECT_EQ(redactor.Scrub("/home/alice/project/app.py"), "~/project/app.py");
  EXPECT_EQ(redactor.Scrub("/home/alice"), "~");
  EXPECT_EQ(redactor.Scrub("/home/alicebob/x"), "/home/alicebob/x");  // another user's home
  EXPECT_EQ(redactor.Scrub("uid=1000(alice) on build-box-7"), "uid=1000(<user>) on <host>");
  EXPECT_EQ(redactor.Scrub("malice and alice_x stay"), "malice and alice_x stay");
  EXPECT_EQ(redactor.counts().home, 2u);
  EXPECT_EQ(redactor.counts().user, 1u);
  EXPECT_EQ(redactor.counts().host, 1u);
}

TEST(Redactor, EnvironmentIsAllowListedByName) {
  Redactor redactor(Alice());
  std::vector<std::string> environment = {"PATH=/home/alice/bin:/usr/bin", "API_TOKEN=s3cr3t-token-value",
                                          "MY_APP_SETTING=whatever", "LC_ALL=C.UTF-8", "COVERAGE_PROCESS_START=x.ini",
                                          "PYCOV_AUTH_KEY=masked-anyway", "DATABASE_URL=postgres://u:dbpass1@db/x"};
  redactor.LearnEnvironment(environment);
  auto shown = redactor.RedactEnvironment(environment);
  EXPECT_EQ(shown, (std::vector<std::string>{"API_TOKEN=<not included>", "COVERAGE_PROCESS_START=x.ini",
                                             "DATABASE_URL=<not included>", "LC_ALL=C.UTF-8",
                                             "MY_APP_SETTING=<not included>", "PATH=~/bin:/usr/bin",
                                             "PYCOV_AUTH_KEY=[REDACTED]"}));
  EXPECT_EQ(redactor.counts().environment_omitted, 3u);
  EXPECT_EQ(redactor.counts().environment_masked, 1u);
  // Values learned from the environment are masked in any other text.
  EXPECT_EQ(redactor.Scrub("sent s3cr3t-token-value and dbpass1"), "sent [REDACTED] and [REDACTED]");
}

TEST(Redactor, ShortOrCommonValuesAreNotLearnedAsSecrets) {
  Redactor redactor(Alice());
  redactor.LearnArguments({"--token", "true", "--password=abc"});
  EXPECT_EQ(redactor.Scrub("true abc"), "true abc");
  // ... though the options themselves are still masked.
  EXPECT_EQ(redactor.RedactArguments({"--password=abc"}), std::vector<std::string>{"--password=[REDACTED]"});
}

TEST(Redactor, SecretSettingsAreLearned) {
  Redactor redactor(Alice());
  redactor.LearnSetting("upload_token", "cfg-secret-9");
  redactor.LearnSetting("branch", "true");
  EXPECT_EQ(redactor.counts().config_secrets, 1u);
  EXPECT_EQ(redactor.Scrub("upload_token = cfg-secret-9"), "upload_token = [REDACTED]");
}

}  // namespace
}  // namespace pycov
