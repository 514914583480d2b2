<?php
// The offline WordPress image's settings: the official image's variables (WORDPRESS_DB_HOST,
// WORDPRESS_DB_USER, WORDPRESS_DB_PASSWORD[_FILE], WORDPRESS_DB_NAME) and its content folder,
// /var/www/html/wp-content, so a Compose file written for `wordpress:6.1-apache` runs unchanged.
function konta_env($name, $default = '') {
  $file = getenv($name . '_FILE');
  if ($file !== false && $file !== '') return rtrim(file_get_contents($file), "\r\n");
  $value = getenv($name);
  return $value === false ? $default : $value;
}
define('DB_NAME', konta_env('WORDPRESS_DB_NAME', 'wordpress'));
define('DB_USER', konta_env('WORDPRESS_DB_USER', 'wordpress'));
define('DB_PASSWORD', konta_env('WORDPRESS_DB_PASSWORD'));
define('DB_HOST', konta_env('WORDPRESS_DB_HOST', 'mysql'));
define('WP_CONTENT_DIR', '/var/www/html/wp-content');
$table_prefix = konta_env('WORDPRESS_TABLE_PREFIX', 'wp_');
